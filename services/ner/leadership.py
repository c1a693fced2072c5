"""Leading people, read from a resume's prose: "I lead a crew of 8 to 15 servers", "Supervised 12 agents",
"Managed a team of five engineers". Resumes in every field show leadership this way rather than by the word, so a
nurse, a hotel manager or a site engineer who leads people was told "Leadership: missing".

The reading is a verb of leading followed, within a few words of the same sentence, by a noun for a group of people
(a team, a crew, staff, or a plural role: agents, nurses, engineers, servers). It is weak evidence: the matcher
holds it for a resume read for a job that asks for leading people, where it shows the one skill of LEADERSHIP_SKILLS
the job asks for (see `services.ner.core.asked_meaning`).
"""

from __future__ import annotations

import re

from services.common.role_words import ROLE_WORDS

# Skills a sentence of leading people shows, by name (those the vocabulary holds are used).
LEADERSHIP_SKILLS = ("Leadership", "Team Leadership", "Staff Supervision", "People Management")

_LEAD_VERBS = (
    "lead", "leads", "leading", "led", "supervise", "supervises", "supervised", "supervising", "manage",
    "manages", "managed", "managing", "oversee", "oversees", "oversaw", "overseeing", "overseen",
)  # fmt: skip
# Groups of people, besides the plural role nouns ("nurses", "engineers"): "a team of", "our staff", "12 agents".
_GROUP_NOUNS = (
    "team", "teams", "crew", "crews", "staff", "squad", "squads", "employees", "associates", "agents", "workers",
    "volunteers", "interns", "reps", "people", "servers", "bartenders", "cashiers", "operators", "drivers",
    "auditors", "tutors", "aides", "caregivers", "trainees", "apprentices", "recruiters", "electricians",
)  # fmt: skip
_PEOPLE = sorted({*_GROUP_NOUNS, "direct reports", *(w for w in ROLE_WORDS if w.endswith("s"))}, key=len, reverse=True)
# At most five words between the verb and the group, none ending a sentence or a clause of its own.
LEADING_PEOPLE = re.compile(
    rf"\b(?:{'|'.join(_LEAD_VERBS)})\b(?:[ \t]+[^\s.;:!?()]+){{0,5}}?[ \t]+(?:{'|'.join(map(re.escape, _PEOPLE))})\b",
    re.IGNORECASE,
)


def leading_people(text: str) -> list[tuple[int, int]]:
    """Start and end of every phrase of leading people in `text`."""
    return [match.span() for match in LEADING_PEOPLE.finditer(text)]
