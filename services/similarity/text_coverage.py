"""Guided coverage: a job skill that no resume skill matches, found in the resume's own sentences.

The resume read (services/ner) names the skills a resume spells; a resume also shows skills in words no
vocabulary holds ("taught patients and families how to manage their medications at home" for Patient
Education). Only the job's unmatched skills are candidates (a few dozen at most), so each is compared with the
resume's passages, not with the whole vocabulary:

- Passages are the resume's sentences, a sentence with commas, colons or spaced dashes cut into its clauses (a
  bullet often lists several things done), keeping those of at least MIN_PASSAGE_WORDS words: titles, headings
  and list items ("Staff Nurse", "HR reporting") are names, which the vocabulary already reads, and a short
  fragment reaches a high cosine with any neighbouring skill.
- A passage is compared only when it shares a word stem (STEM_LETTERS letters, function words left out) with
  a name of one of the unmatched skills: each passage costs the model milliseconds to embed. On the dev split
  about half of the passages pass (12 of 25 per pair at the median) and every passage covering a skill at a
  cut-off of 0.45 or more still does ("listened to calls" for Call Monitoring by its alias "QA scoring" too,
  "analyst briefings with Gartner" for Analyst Relations).
- A skill's score on a passage is the best cosine of its names (canonical name and aliases) with the passage.
- A passage counts for a skill only when no skill the resume already names is closer to it: such a passage is
  that skill's evidence ("bank reconciliations" shows Bank Reconciliation, not Balance Sheet Reconciliation).
- The skill is covered by its best counting passage when that reaches the cut-off, which is calibrated on the
  evaluation's dev split (`python -m tests.similarity.calibrate_text`, data/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from services.common.embedding import Vectors
from services.common.errors import InvalidArgument
from services.common.role_words import ROLE_WORDS

MIN_PASSAGE_WORDS = 3
# A whole line of at most this many words with no sentence end is a title or a heading, and so is a passage of at
# most this many words that ends in a role noun ("Senior Product Designer, Acme, 2020 - present"): a job title is
# close to every skill its words name (Data Governance scored 0.64 on "Senior Data Engineer") and says nothing of
# what the person did.
TITLE_WORDS = 4
# A 200- to 400-word resume gives 15 to 35 passages (33 at most on the dev split). A longer text is read up to
# this many, its first ones (recent experience comes first): each new passage costs the model milliseconds on a CPU.
MAX_PASSAGES = 64

_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7]|\d+[.)])\s+")
# A sentence ends at . ! ? ; before a capital, digit or bracket, at a semicolon, or at a " | " separator.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(])|;\s+|\s+\|\s+")
# Clause breaks inside a sentence: a comma, a colon, a spaced hyphen or dash.
_CLAUSE_BREAK = re.compile(r",\s+|:\s+|\s+[-\u2013\u2014]\s+")
_WORD = re.compile(r"[A-Za-z][\w'+#.-]*")
# Word stems: a word's first STEM_LETTERS letters ("calls" and "call", "managed" and "management" meet).
STEM_LETTERS = 4
_STEM_WORD = re.compile(r"[a-z0-9]+")
# Words that tie a passage to no skill: a passage sharing only these with a skill's names is not compared.
_FUNCTION_WORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "i", "in", "is",
        "it", "its", "my", "of", "on", "or", "our", "the", "their", "this", "to", "was", "we", "were", "with",
    }
)  # fmt: skip

EmbedTexts = Callable[[Sequence[str]], Awaitable[Vectors]]


@dataclass(frozen=True)
class PassageMatch:
    """The resume passage that shows a job skill, and its cosine with the closest of the skill's names."""

    passage: str
    score: float


def validate_resume_text(text: str, *, max_chars: int) -> str:
    """The resume text of a CompareSkills request ("" when not given); over `max_chars` is refused."""
    if len(text) > max_chars:
        raise InvalidArgument.for_field("resume_text", f"at most {max_chars} characters, got {len(text)}")
    return text


def _is_title(passage: str) -> bool:
    words = _WORD.findall(passage)
    return len(words) <= TITLE_WORDS and words[-1].casefold() in ROLE_WORDS


def resume_passages(text: str) -> list[str]:
    """The resume's sentences and clauses worth comparing (see the module docstring), distinct, in order."""
    passages: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if len(_WORD.findall(line)) <= TITLE_WORDS and not line.endswith((".", "!", "?")):
            continue
        for sentence in _SENTENCE_END.split(line):
            clauses = [c.strip(" .;") for c in _CLAUSE_BREAK.split(sentence)]
            passages.extend(c for c in clauses if len(_WORD.findall(c)) >= MIN_PASSAGE_WORDS and not _is_title(c))
    return list(dict.fromkeys(passages))[:MAX_PASSAGES]


def word_stems(text: str) -> set[str]:
    """The stems of a text's words (see STEM_LETTERS), function words and single letters left out."""
    return {
        word[:STEM_LETTERS]
        for word in _STEM_WORD.findall(text.lower())
        if len(word) > 1 and word not in _FUNCTION_WORDS
    }


def passages_sharing_a_stem(passages: Sequence[str], skill_names: Sequence[Sequence[str]]) -> list[str]:
    """The passages that share a word stem with a name of one of the skills, in order."""
    stems = set().union(*(word_stems(name) for names in skill_names for name in names))
    return [p for p in passages if not stems.isdisjoint(word_stems(p))]


def best_passages(
    skill_name_vectors: Sequence[Vectors],
    passage_vectors: Vectors,
    resume_skill_vectors: Vectors,
    passages: Sequence[str],
    floor: float,
) -> list[PassageMatch | None]:
    """For each job skill (the vectors of its names, one row per name), its best passage that no resume skill
    is closer to, when that reaches `floor`; else None. Vectors are L2-normalised, so dot products are cosines."""
    if not passages:
        return [None] * len(skill_name_vectors)
    # The cosine of the closest skill the resume already names, per passage (0 when it names none).
    rival = (resume_skill_vectors @ passage_vectors.T).max(axis=0) if len(resume_skill_vectors) else None
    found: list[PassageMatch | None] = []
    for names in skill_name_vectors:
        scores = (names @ passage_vectors.T).max(axis=0)
        if rival is not None:
            scores = np.where(scores >= rival, scores, -1.0)
        best = int(np.argmax(scores))
        score = float(scores[best])
        found.append(PassageMatch(passages[best], min(1.0, score)) if score >= floor else None)
    return found


async def cover_from_text(
    skill_names: Sequence[Sequence[str]],
    resume_skill_names: Sequence[str],
    resume_text: str,
    *,
    embed: EmbedTexts,
    floor: float,
) -> list[PassageMatch | None]:
    """For each job skill (its names: canonical first, then aliases) the passage of `resume_text` that shows it,
    or None. `resume_skill_names` are the skills the resume already names (their canonical names). One call
    to `embed` for everything, so the model sees one batch."""
    passages = passages_sharing_a_stem(resume_passages(resume_text), skill_names)
    if not passages or not skill_names:
        return [None] * len(skill_names)
    flat = [name for names in skill_names for name in names]
    vectors = await embed([*flat, *resume_skill_names, *passages])
    name_vectors, start = [], 0
    for names in skill_names:
        name_vectors.append(vectors[start : start + len(names)])
        start += len(names)
    resume_vectors = vectors[start : start + len(resume_skill_names)]
    passage_vectors = vectors[start + len(resume_skill_names) :]
    return best_passages(name_vectors, passage_vectors, resume_vectors, passages, floor)
