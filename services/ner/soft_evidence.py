"""Soft skills read from what a resume says its writer did: "I lead a crew of 8 servers" (leadership), "Wrote OAC
meeting minutes and daily reports" (written communication), "Present the design roadmap to the executive team"
(presentation), "Coached agents one-on-one" (coaching), "Handle guest escalations" (conflict resolution). Resumes
in every field show these skills this way rather than by name, so a nurse, a hotel manager or a site engineer was
told "Leadership: missing".

Each reading is a verb of the activity followed, within a few words of the same sentence, by what it acts on: a group
of people for leading and coaching (a team, a crew, staff, or a plural role: agents, nurses, engineers), a kind of
document for writing, an audience for presenting. It is weak evidence: the matcher holds it for a resume read for a
job that asks for one of the reading's skills, where it shows the one the job asks for (see
`services.ner.core.asked_meaning`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.common.role_words import ROLE_WORDS

# Groups of people, besides the plural role nouns ("nurses", "engineers"): "a team of", "our staff", "12 agents".
_GROUP_NOUNS = (
    "team", "teams", "crew", "crews", "staff", "squad", "squads", "employees", "associates", "agents", "workers",
    "volunteers", "interns", "reps", "people", "servers", "bartenders", "cashiers", "operators", "drivers",
    "auditors", "tutors", "aides", "caregivers", "trainees", "apprentices", "recruiters", "electricians", "hires",
)  # fmt: skip
_PEOPLE = (*_GROUP_NOUNS, "direct reports", *(w for w in ROLE_WORDS if w.endswith("s")))
_DOCUMENTS = (
    "reports", "report", "minutes", "articles", "article", "documentation", "proposals", "proposal", "memos",
    "letters", "briefs", "newsletters", "newsletter", "blog posts", "case studies", "white papers", "whitepapers",
    "press releases", "help articles", "knowledge base", "runbooks", "procedures", "policies", "manuals", "guides",
    "summaries", "commentary", "copy", "captions", "scripts for", "grant", "grants", "specifications", "specs",
    "narratives", "notes", "correspondence", "motions", "pleadings", "subpoenas", "contracts", "agreements",
    "petitions", "affidavits", "discovery",
)  # fmt: skip
_AUDIENCES = (
    "executive", "executives", "leadership", "board", "c-suite", "clients", "client", "customers", "stakeholders",
    "management", "committee", "council", "conference", "conferences", "audiences", "audience", "investors",
    "the team", "all-hands", "vp", "cfo", "ceo", "cto", "coo", "directors",
)  # fmt: skip


def _verb_then(verbs: tuple[str, ...], objects: tuple[str, ...], *, between: int = 5) -> re.Pattern[str]:
    """A verb, then one of the objects within `between` words of the same clause."""
    verb = "|".join(verbs)
    thing = "|".join(map(re.escape, sorted(set(objects), key=len, reverse=True)))
    return re.compile(rf"\b(?:{verb})\b(?:[ \t]+[^\s.;:!?()]+){{0,{between}}}?[ \t]+(?:{thing})\b", re.IGNORECASE)


@dataclass(frozen=True)
class SoftReading:
    """One way a resume shows soft skills: the skills it shows (by vocabulary name) and the pattern that reads it."""

    skills: tuple[str, ...]
    pattern: re.Pattern[str]


READINGS = (
    SoftReading(
        ("Leadership", "Team Leadership", "Staff Supervision", "People Management"),
        _verb_then(
            ("lead", "leads", "leading", "led", "supervise", "supervises", "supervised", "supervising", "manage",
             "manages", "managed", "managing", "oversee", "oversees", "oversaw", "overseeing", "overseen"),
            _PEOPLE,
        ),
    ),
    SoftReading(
        ("Coaching", "Mentoring"),
        _verb_then(
            ("coach", "coaches", "coached", "coaching", "mentor", "mentors", "mentored", "mentoring", "precept",
             "precepted", "precepting"),
            _PEOPLE,
        ),
    ),
    SoftReading(
        ("Written Communication", "Communication Skills"),
        _verb_then(
            ("write", "writes", "wrote", "writing", "written", "draft", "drafts", "drafted", "drafting", "author",
             "authored", "authoring"),
            _DOCUMENTS,
            between=4,
        ),
    ),
    SoftReading(
        ("Conflict Resolution", "De-escalation"),
        _verb_then(
            ("resolve", "resolves", "resolved", "resolving", "handle", "handles", "handled", "handling", "mediate",
             "mediates", "mediated", "mediating"),
            ("disputes", "conflicts", "conflict", "complaints", "escalations", "escalated", "grievances"),
            between=3,
        ),
    ),
    SoftReading(
        ("De-escalation", "Conflict Resolution"),
        _verb_then(
            ("calm", "calms", "calmed", "calming", "defuse", "defuses", "defused", "defusing", "de-escalate",
             "de-escalates", "de-escalated", "de-escalating"),
            ("caller", "callers", "customer", "customers", "guest", "guests", "patient", "patients", "client",
             "clients", "resident", "residents", "student", "students", "situation", "situations", "tensions"),
            between=3,
        ),
    ),
    SoftReading(
        ("Presentation Skills", "Public Speaking", "Communication Skills"),
        _verb_then(("present", "presents", "presented", "presenting", "presentations"), _AUDIENCES, between=6),
    ),
)  # fmt: skip


def soft_skill_phrases(text: str) -> list[tuple[tuple[str, ...], int, int]]:
    """Every phrase of `text` that shows soft skills: (the skills' names, start, end), in text order."""
    found = [(r.skills, *m.span()) for r in READINGS for m in r.pattern.finditer(text)]
    return sorted(found, key=lambda f: f[1])
