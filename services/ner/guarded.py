"""Where a guarded term counts: "Go", "R", "C", "Chef" are skills only in a list of skills or a technical phrase
("Go, Rust", "in R", "C programming"), not in prose ("Go to market", "the chef's table")."""

from __future__ import annotations

from spacy.tokens import Doc

# A guarded term ("Go", "R", "C", "Chef") counts only in a list or a technical phrase.
LIST_TOKENS = frozenset({",", "/", "(", ")", "&", ";", "|", "•", "·", "+", "and", "or"})
CUE_WORDS = frozenset({"in", "using", "with", "of", "including", "like", "via", "writing", "wrote", "write", "coding"})
TECH_NOUNS = frozenset(
    {
        "programming", "language", "languages", "lang", "developer", "developers", "development", "engineer",
        "engineers", "code", "codebase", "services", "microservices", "backend", "scripts", "scripting",
        "libraries", "library", "modules", "sdk", "stack", "apps", "experience", "proficiency", "runtime",
        "routines", "concurrency", "packages", "toolchain", "compiler", "cookbooks", "recipes", "manifests",
        "playbooks", "automation", "models", "modeling", "animation", "rendering", "framework", "tests",
    }
)  # fmt: skip


def in_skill_context(doc: Doc, start: int, end: int) -> bool:
    """Whether a guarded term stands in a skill list or a technical phrase ("Go, Rust", "in R", "C programming")."""
    before = doc[start - 1] if start > 0 else None
    after = doc[end] if end < len(doc) else None
    next_word = after.lower_ if after is not None else ""
    if next_word == "-" and end + 1 < len(doc) and doc[end + 1].is_alpha:
        return False  # a compound: "C-suite", "Go-live", "R-value"
    if before is not None and before.lower_ in CUE_WORDS:
        return True  # "written in C for ...", "experience with Go", "six years of writing C for microcontrollers"
    if after is not None and after.is_alpha and after.is_lower and next_word not in TECH_NOUNS | LIST_TOKENS:
        return False  # "Go to market", "Go ahead"
    if before is not None and before.lower_ in LIST_TOKENS:
        return True
    return next_word in LIST_TOKENS or next_word in TECH_NOUNS
