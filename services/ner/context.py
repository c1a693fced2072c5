"""Context rules of skill extraction: what a document is about, which part of a job ad a mention stands in, and
which mentions are not skills at all. Pure functions over character offsets; no models, no grpc.

- Field: occupation titles and unambiguous skills vote; the field decides between skills that share a term
  ("RN": Registered Nurse in a nursing text, React Native in a software one) and whether a field-gated word
  counts ("Closing" in a sales ad).
- Sections of a job ad: lines such as "Requirements", "Nice to have", "About us", "Benefits". Mentions under
  "about the company" or "benefits" headings are not asked of the candidate; mentions under "preferred" ones,
  or in a sentence that says "a plus", "ideally", "preferred", are nice to have.
- Mentions inside an organisation's name ("FastLane 3PL", "General Assembly"), role nouns ("product owners") and
  words that name a product rather than a skill ("budgeting tools for families") are dropped.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.role_words import ROLE_WORDS

# Fields whose skills overlap so much that a term of one reads the same in the others.
FIELD_GROUPS: tuple[frozenset[str], ...] = (frozenset({"software", "data", "cloud-devops"}),)
GENERAL_FIELD = "general"
# An occupation title votes like this many skills: a headline "Registered Nurse" says more than one skill.
OCCUPATION_WEIGHT = 3
MIN_FIELD_SCORE = 2

REQUIRED_HEADINGS = re.compile(
    r"^(requirements?|required|must[- ]haves?|qualifications|minimum qualifications|basic qualifications|"
    r"what you('ll)? need|what you bring|what we('re| are) looking for|you have|you bring|skills|about you|"
    r"who you are|responsibilities|"
    r"what you('ll)? do|duties|key responsibilities|the role|your role|essential|experience)\b",
    re.IGNORECASE,
)
OPTIONAL_HEADINGS = re.compile(
    r"^(nice[- ]to[- ]haves?|preferred|preferred qualifications|bonus|bonus points|pluses|desired|desirable|"
    r"good to have|ideally|extra credit|it would be great if|helpful|would be nice)\b",
    re.IGNORECASE,
)
BLURB_HEADINGS = re.compile(
    r"^(about us|about the company|about [A-Z][\w&' -]+$|who we are|our company|company overview|benefits|perks|"
    r"what we offer|we offer|compensation|pay and benefits|salary|why join|why you'll love|equal opportunity|eeo|"
    r"our mission|the company|life at|why (work|join|us\b|[A-Z][\w&' -]*$))",
    re.IGNORECASE,
)
OPTIONAL_CUES = re.compile(
    r"\b(a plus|is a plus|are a plus|plus\b(?= if)|preferred|preferably|nice[- ]to[- ]have|a bonus|bonus if|"
    r"ideally|desirable|an advantage|advantageous|helpful|would be great|strongly encouraged|encouraged to apply|"
    r"not required|welcome|we'd love|would love|appreciated)\b",
    re.IGNORECASE,
)
CREDENTIAL_WORDS = frozenset({"certification", "certified", "certificate", "license", "licence", "licensure", "exam"})
# Groups of people a lower-case mention may name the function of ("working with sales, marketing and customer
# success leaders", "our finance partners"): the ad's colleagues, not a skill asked of the candidate. Not "roles"
# ("3 years in customer service roles" asks for customer service).
PEOPLE_NOUNS = frozenset({"leaders", "leadership", "counterparts", "colleagues", "partners", "stakeholders"})
# What a standard's or a product's designation adds to its name: "2.1", "9001:2015", "v3", "AA", "Level 2".
DESIGNATION_WORD = re.compile(r"v?\d[\d.:\-]*|A{1,3}|level|class|part|rev|edition", re.IGNORECASE)
# spaCy's small model labels credential lines as organisations ("BLS Provider", "California RN License"); a
# span ending in one of these words names a credential, whose acronym is the skill.
CREDENTIAL_TAILS = frozenset(
    {"provider", "license", "licence", "certification", "certificate", "certified", "card", "instructor", "exam"}
)
# A sentence about pay and benefits asks nothing of the candidate ("Relocation support, a pension, 25 days of
# holiday"; "Total compensation of 320,000 USD").
BENEFIT_CUES = re.compile(
    r"\b(benefits|pension|401\(?k\)?|paid time off|PTO|holidays?|vacation|salary|total compensation|"
    r"compensation (package|of)|on-target earnings|"
    r"sign-on bonus|tuition reimbursement|relocation|parental leave|health insurance|equity|stipend)\b",
    re.IGNORECASE,
)
# A sentence that addresses the candidate or states a requirement is part of the ask, whatever else it says
# ("We need Python and SQL", "We're hiring someone with...", "We'd love to see Figma" ask, though they open with
# "We"). "Plus" and "bonus" ask only as "a plus", "a bonus": "a base salary plus commission" and "salary plus
# bonus" are pay.
ASK_CUES = re.compile(
    r"\b(you|your|you'll|candidate|applicants?|required|requirements?|requires?|must|should|looking for|experience|"
    r"knowledge|proficien\w*|familiar\w*|ability|skills?|certifi\w*|licen[cs]e\w*|need|needs|seek\w*|hiring|"
    r"hire|want|wants|expect\w*|ideal\w*|prefer\w*|(an?|big|huge|nice|real|definite|strong) (bonus|plus)|bonus points|"
    r"love to see|someone|person|engineer to|who can)\b",
    re.IGNORECASE,
)
LIST_MARKS = ("-", "•", "*", "·")
PAY_OPENING = re.compile(r"^\W*(total compensation|compensation|salary|pay|benefits)\b", re.IGNORECASE)
ABOUT_US = re.compile(r"^\W*(we|we're|we've|our)\b", re.IGNORECASE)
# A mention followed by one of these opens a list of examples of it ("configuration management (Ansible,
# Puppet or Chef)"): the ad asks for the skill, and the tools only illustrate it.
EXAMPLES_OPEN = re.compile(
    r"^\s*(\(\s*((such as|e\.g\.,?|for example|including)\s+)?|,?\s*([a-z-]+\s+){0,2}(such as|e\.g\.,?|for example)\s)",
    re.IGNORECASE,
)
EXAMPLES_CONTINUE = re.compile(r"^(\s*(,|/|or|and|and/or)\s*)+$", re.IGNORECASE)
# A degree's subject is not a skill the ad asks for or the resume shows ("Bachelor's degree in hospitality
# management", "B.S. in Mechanical or Biomedical Engineering", "BSc Computer Science"): the subject list runs from
# the degree word to the end of its clause, and stops at numbers ("... and 3+ years of product design experience").
DEGREE_BEFORE = re.compile(
    r"\b(?:bachelor'?s|master'?s|associate'?s|doctorate|ph\.?d\.?|b\.s\.?|b\.a\.?|m\.s\.?|m\.a\.?|bsc|msc|mba|"
    r"beng|meng|b\.?eng|degree|diploma)(?:\s*\(hons\))?(?:\s+degree)?"
    r"(?:\s+(?:in|of)\s+[^.;:()\n\d]*?|\s+(?!in\b|of\b)[A-Z][^,.;:()\n\d]*?|\s+)$",
    re.IGNORECASE,
)
DEGREE_AFTER = re.compile(r"^\s+(?:degree|degrees|diploma|major|minor)\b", re.IGNORECASE)
DEGREE_LIST_STOP = re.compile(r"\b(?:experience|years?|with|from|using|including)\b", re.IGNORECASE)
# "our customer success team", "the commercial litigation group": a department, not a skill. Without the
# determiner the words can ask for a way of working ("experience in agile teams").
TEAM_NOUNS = frozenset(
    {
        "team",
        "teams",
        "department",
        "departments",
        "group",
        "groups",
        "desk",
        "organization",
        "organisation",
        "function",
    }
)
DETERMINER_BEFORE = re.compile(r"\b(?:our|the|your|their)\s+$", re.IGNORECASE)
# A title line of a resume: the header or a job's line ("Staff Nurse, Medical-Surgical Unit, Summit Health, 2021 to
# present"), at most this many words and no full stop.
TITLE_LINE_WORDS = 12
OWN_ROLE_BEFORE = re.compile(r"\b(?:i am|i'm|as)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}$", re.IGNORECASE)
PRODUCT_NOUNS = frozenset(
    {"tools", "tool", "apps", "app", "products", "platform", "platforms", "company", "companies", "firm", "startup"}
)


@dataclass(frozen=True)
class Section:
    """A part of a text under one heading: [start, end) in characters, and what kind of part it is."""

    start: int
    end: int
    kind: str  # "required" | "optional" | "blurb" | "plain"


def group_of(field: str) -> frozenset[str]:
    """The fields that read a term the same way as `field` does (at least the field itself)."""
    for group in FIELD_GROUPS:
        if field in group:
            return group
    return frozenset({field})


def detect_field(skill_fields: Sequence[str], occupations: Sequence[tuple[str, str, int]]) -> tuple[str, list[str]]:
    """The document's field from its unambiguous skills' fields and its occupation titles (name, field, count),
    and the occupation names best first. "" when no field is clearly ahead."""
    votes: Counter[str] = Counter(f for f in skill_fields if f and f != GENERAL_FIELD)
    for _, field, count in occupations:
        if field:
            votes[field] += OCCUPATION_WEIGHT * count
    names = [name for name, _, _ in occupations]
    if not votes:
        return "", names
    (best, score), *rest = votes.most_common()
    if score < MIN_FIELD_SCORE or (rest and rest[0][1] == score):
        return "", names
    return best, names


def heading_kind(line: str) -> str | None:
    """What a heading line opens, or None when the line is not a heading."""
    text = line.strip().strip("#*-•:= ").strip()
    if not text or len(text.split()) > 7 or text.endswith((".", ",")):
        return None
    if BLURB_HEADINGS.match(text):
        return "blurb"
    if OPTIONAL_HEADINGS.match(text):
        return "optional"
    if REQUIRED_HEADINGS.match(text):
        return "required"
    return None


def split_sections(text: str) -> list[Section]:
    """The sections of a text, in order, from its heading lines (one "plain" section when it has none)."""
    sections: list[Section] = []
    kind, start, offset = "plain", 0, 0
    for line in text.splitlines(keepends=True):
        found = heading_kind(line)
        if found is not None:
            if offset > start:
                sections.append(Section(start, offset, kind))
            kind, start = found, offset
        offset += len(line)
    sections.append(Section(start, max(offset, start), kind))
    return sections


def section_at(sections: Sequence[Section], position: int) -> str:
    """The kind of section that holds a character position."""
    for section in sections:
        if section.start <= position < section.end:
            return section.kind
    return "plain"


# A header line of a job ad (title, company, place) is short; a longer line is already prose.
HEADER_LINE_WORDS = 16
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
PARAGRAPH = re.compile(r"\S(?:.|\n(?![ \t]*\n))*")


class Sentences:
    """The sentences (and list lines) of a text, found once, looked up by character position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0]
        self._ends: list[int] = []
        for match in SENTENCE_END.finditer(text):
            self._ends.append(match.start())
            self._starts.append(match.end())
        self._ends.append(len(text))

    @functools.cached_property
    def opening(self) -> tuple[int, int]:
        """The opening paragraph of the text read as a job ad (see `opening_paragraph`)."""
        return opening_paragraph(self.text)

    def bounds(self, position: int) -> tuple[int, int]:
        """Start and end of the sentence around a character position."""
        index = max(bisect.bisect_right(self._starts, position) - 1, 0)
        return self._starts[index], self._ends[index]


def evidence(sentences: Sentences, start: int, end: int, limit: int = 160) -> str:
    """A short quote of the sentence a mention stands in, cut around the mention when the sentence is long."""
    low, high = sentences.bounds(start)
    text = sentences.text
    quote = text[low:high].strip(" -•*\t")
    if len(quote) <= limit:
        return quote
    left = max(low, start - limit // 2)
    right = min(high, left + limit)
    return ("…" if left > low else "") + text[left:right].strip() + ("…" if right < high else "")


def is_optional(sentences: Sentences, sections: Sequence[Section], start: int) -> bool:
    """True when a job-ad mention is nice to have: its section says so, or its sentence does."""
    low, high = sentences.bounds(start)
    if OPTIONAL_CUES.search(sentences.text[low:high]):
        return True
    return section_at(sections, start) == "optional"


def inside_organisation(text: str, start: int, end: int, organisations: Sequence[tuple[int, int]]) -> bool:
    """True when a mention lies inside a longer organisation name ("General Assembly" holds "Assembly"). A span
    that adds only a version or a level to the mention is a standard's designation the model took for an
    organisation ("WCAG 2.1 AA", "ISO 9001:2015"), not a name."""
    return any(
        s <= start and end <= e and (e - s) > (end - start) and not is_designation(f"{text[s:start]} {text[end:e]}")
        for s, e in organisations
    )


def is_designation(rest: str) -> bool:
    """True when every word of `rest` is a version, an edition or a conformance level ("2.1 AA", ":2015", "v3")."""
    words = [w.strip("().,;:") for w in rest.split()]
    return all(not w or DESIGNATION_WORD.fullmatch(w) for w in words)


def is_role_noun(mention: str, next_word: str) -> bool:
    """True for a person's role rather than a skill: the mention ends in a role noun ("Product Owner") or, in
    lower case, modifies one ("scrum masters") or a group of people ("customer success leaders"); not when a
    credential word follows ("Scrum Master certification")."""
    words = mention.casefold().split()
    if not words or next_word in CREDENTIAL_WORDS:
        return False
    return words[-1] in ROLE_WORDS or (mention.islower() and (next_word in ROLE_WORDS or next_word in PEOPLE_NOUNS))


def names_own_role(text: str, start: int, end: int, mention: str, next_word: str) -> bool:
    """True when a role mention is the resume writer's own role, in the singular ("product designer", not "worked
    with product designers"): on a short title line ("Senior Product Designer | Seattle, WA") or after "I am a" /
    "as a". Such a role shows the practice it is named for, when the job asks for that practice."""
    words = mention.casefold().split()
    role = words[-1] if words and words[-1] in ROLE_WORDS else next_word
    if role not in ROLE_WORDS or role.endswith("s"):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : len(text) if line_end < 0 else line_end].strip()
    if len(line.split()) <= TITLE_LINE_WORDS and not line.endswith("."):
        return True
    return OWN_ROLE_BEFORE.search(text[max(line_start, start - 40) : start]) is not None


def names_a_product(mention: str, next_word: str) -> bool:
    """True when a lower-case mention modifies a product or company noun ("budgeting tools for families")."""
    return mention.islower() and next_word in PRODUCT_NOUNS


def names_a_department(text: str, start: int, next_word: str) -> bool:
    """True when a mention sits between a determiner and a team noun ("our customer service team")."""
    return next_word in TEAM_NOUNS and DETERMINER_BEFORE.search(text[max(0, start - 8) : start]) is not None


def names_a_credential(span_text: str) -> bool:
    """True when an ORG span is a credential line rather than an organisation ("BLS Provider")."""
    words = span_text.casefold().split()
    return bool(words) and words[-1].strip(".,;:()") in CREDENTIAL_TAILS


def is_blurb_sentence(sentences: Sentences, sections: Sequence[Section], start: int) -> bool:
    """True for a job-ad sentence outside the requirement sections that asks nothing of the candidate: pay and
    benefits, what the company does ("Our platform team keeps 300 services running on Kubernetes"), or any
    sentence of the opening paragraph under the title that does not address the candidate ("Lattice Ledger builds
    data infrastructure for banks")."""
    low, high = sentences.bounds(start)
    sentence = sentences.text[low:high]
    if section_at(sections, start) in ("required", "optional"):
        return is_pay_statement(sentence)
    if BENEFIT_CUES.search(sentence):
        return True
    if ASK_CUES.search(sentence):
        return False
    low, high = sentences.opening
    return bool(ABOUT_US.match(sentence)) or low <= start < high


def is_pay_statement(sentence: str) -> bool:
    """True for a sentence of prose about pay that an ad's last section runs into when no heading opens it ("We offer
    relocation support, tuition reimbursement and a 401(k)"; "Total compensation of 320,000 USD"): it opens with
    "We"/"Our" or a pay word, names pay or benefits and asks nothing. A list item ("- Benefits administration")
    is a requirement."""
    head, colon, _ = sentence.partition(":")
    if colon and heading_kind(head) == "blurb":
        return True  # its own heading opens the line ("Benefits: ... for you and your family"): not asked
    return bool(
        not sentence.lstrip().startswith(LIST_MARKS)
        and (ABOUT_US.match(sentence) or PAY_OPENING.match(sentence))
        and BENEFIT_CUES.search(sentence)
        and not ASK_CUES.search(sentence)
    )


def opening_paragraph(text: str) -> tuple[int, int]:
    """Start and end of the first paragraph after a job ad's title line ((0, 0) when there is none: paragraphs
    end at blank lines, and an ad with fewer than three has no separate opening)."""
    paragraphs = [m.span() for m in PARAGRAPH.finditer(text)]
    if len(paragraphs) < 3:
        return 0, 0
    start, end = paragraphs[0]
    if "\n" not in text[start:end]:  # the title stands alone: the next paragraph opens the ad
        start, end = paragraphs[1]
    elif is_header_block(text[start:end]):  # title, company and place lines: the paragraph under them opens it too
        end = paragraphs[1][1]
    return start, end


def is_header_block(paragraph: str) -> bool:
    """Whether a paragraph is only an ad's header lines: the title, the company, the place ("Figment Labs |
    Remote (US/Canada)"): a few short lines, none a sentence."""
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    return len(lines) <= 3 and all(len(line.split()) <= HEADER_LINE_WORDS and not line.endswith(".") for line in lines)


def examples_of_earlier(text: str, spans: Sequence[tuple[int, int]]) -> set[int]:
    """Indexes of mentions (spans in text order) that only illustrate the mention before them: the ones inside
    "X (A, B or C)" or after "X such as A or B"."""
    examples: set[int] = set()
    in_list = False
    for index in range(1, len(spans)):
        between = text[spans[index - 1][1] : spans[index][0]]
        if in_list and EXAMPLES_CONTINUE.match(between):
            examples.add(index)
        elif (opened := EXAMPLES_OPEN.match(between)) is not None and opened.end() == len(between):
            # One item in parentheses is more often a spelling or the preferred choice ("(FBAs)", "(P6
            # preferred)"): only a list of two or more is a list of examples.
            nxt = text[spans[index][1] : spans[index + 1][0]] if index + 1 < len(spans) else ""
            if opened.group(0).strip() != "(" or EXAMPLES_CONTINUE.match(nxt):
                examples.add(index)
                in_list = True
        else:
            in_list = False
    return examples


def name_words(name: str) -> tuple[str, ...]:
    """The words of a skill name, lower case, a plural "s" dropped from longer words ("Change Orders" ->
    ("change", "order")), so that one name can be looked for inside another."""
    words = re.findall(r"[a-z0-9+#]+", name.casefold())
    return tuple(w[:-1] if len(w) >= 4 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def names_part_of(broader: str, narrower: str) -> bool:
    """Whether a skill name is a word sequence inside a longer one ("Discovery" in "Discovery Requests and
    Responses", "Reconciliation" in "Balance Sheet Reconciliation")."""
    small, big = name_words(broader), name_words(narrower)
    if not small or len(small) >= len(big):
        return False
    return any(big[i : i + len(small)] == small for i in range(len(big) - len(small) + 1))


def broader_beside_narrower(sentences: Sentences, hits: Sequence[tuple[str, int]]) -> set[int]:
    """Indexes of mentions (skill name, start) whose sentence also names a narrower skill that spells the whole
    of this one's name: a job ad that asks for "drafting discovery requests and responses" in a sentence about
    "discovery" asks for the narrower skill, and the broader word only sets the scene."""
    by_sentence: dict[tuple[int, int], set[str]] = {}
    for name, start in hits:
        by_sentence.setdefault(sentences.bounds(start), set()).add(name)
    return {
        index
        for index, (name, start) in enumerate(hits)
        if any(names_part_of(name, other) for other in by_sentence[sentences.bounds(start)])
    }


def is_degree_subject(text: str, start: int, end: int) -> bool:
    """True when a mention names the subject of a degree ("Bachelor's in construction management, civil
    engineering or a related field"; "a construction management degree"): degrees are not skills."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if DEGREE_AFTER.match(text[end : end + 12]):
        return True
    found = DEGREE_BEFORE.search(before)
    return found is not None and not DEGREE_LIST_STOP.search(found.group(0))
