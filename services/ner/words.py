"""Words of a skill name and of a text as forms of one word, for prose matching: "administered" and
"administration" share a stem and are one word; "sales" and "Salesforce" share a stem and are not."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

STEM_LENGTH = 5
# Tokens that end a sentence for prose matching (a line break does too): a prose name's words share a sentence.
SENTENCE_ENDS = frozenset({".", ";", "!", "?"})
# Endings taken off a word before its stem is cut (longest first).
INFLECTIONS = ("ings", "ments", "ing", "ment", "ies", "ied", "ed", "es", "s")
# What may follow a shared stem for two words to be one word ("teach" / "teaching", "document" /
# "documentation"), so that "sales" is not "Salesforce" and "interaction" is not "interior".
SUFFIXES = frozenset(
    {
        "", "s", "es", "ed", "d", "ing", "ings", "er", "ers", "ion", "ions", "ation", "ations", "ment", "ments",
        "al", "ally", "ly", "ive", "ity", "ize", "ise", "ized", "ised", "e", "or", "ors", "ance", "ence", "ic", "y",
    }
)  # fmt: skip


# Every content word of every text is stemmed, and texts share most of their words: a word's stem is worked out once.
@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A truncation stem of a word without its inflection: "administered", "administration" -> "admin";
    "plans", "planning" -> "plan"; "care", "caring" -> "car", so that a short word and its forms share a stem."""
    word = word.casefold()
    for suffix in INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix in ("ies", "ied"):
                word = word[:-3] + "y"  # "copies" -> "copy"
            elif suffix == "es" and not word.endswith(("ses", "xes", "zes", "ches", "shes")):
                word = word[:-1]  # "notes" -> "note", but "classes" -> "class"
            elif suffix != "s" or not word.endswith("ss"):
                word = word[: -len(suffix)]
            break
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # "planning" -> "plann" -> "plan"
    return word.removesuffix("e")[:STEM_LENGTH]


@functools.lru_cache(maxsize=65536)
def same_word(word: str, other: str) -> bool:
    """Whether two words that share a stem are forms of one word: one is the other plus a suffix (a doubled
    consonant allowed: "plan" / "planning"), or they share seven letters ("administer" / "administration")."""
    a, b = sorted((word.casefold(), other.casefold()), key=len)
    if b.startswith(a):
        rest = b[len(a) :]
        if rest in ("er", "ers") and b.endswith(("eer", "eers")):
            return False  # an "-eer" noun is a word of its own: "engineer" is not one who engines
        return rest in SUFFIXES or (rest[:1] == a[-1:] and rest[1:] in SUFFIXES)
    # A final "e" or "y" gives way to the suffix: "manage" / "managing", "family" / "families".
    if a[-1:] in ("e", "y") and len(a) >= 4 and b.startswith(a[:-1]):
        rest = b[len(a) - 1 :]
        return rest in SUFFIXES if a[-1] == "e" else rest in {"ies", "ied", "ier", "iers"}
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    # Seven letters: "administer" / "administration" share eight, while "experience" / "experimental" share six
    # and are two words ("experience designing pipelines" is no Experimental Design).
    return shared >= 7


def content_words(text: str) -> list[str]:
    """Words of a name that carry meaning (not stop words, not one letter)."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z+#]*", text) if len(w) > 1 and w.casefold() not in STOP_WORDS]


@dataclass(frozen=True)
class ProseText:
    """A doc as prose matching reads it (see `services.ner.matcher`), gathered in one pass: both prose windows
    and every candidate name look at the same tokens, and spaCy builds a new Token object on every `doc[i]`."""

    # The content words (no stop words, no single letters): token index, stem, sentence number, lower case.
    words: list[tuple[int, str, int, str]]
    # Every token's text and the whitespace after it, by token index.
    texts: list[str]
    spaces: list[str]

    @classmethod
    def of(cls, doc: Doc) -> ProseText:
        sentence = 0
        words: list[tuple[int, str, int, str]] = []
        texts: list[str] = []
        spaces: list[str] = []
        for token in doc:
            text = token.text
            texts.append(text)
            spaces.append(token.whitespace_)
            if text in SENTENCE_ENDS or "\n" in text:
                sentence += 1
            elif token.is_alpha and len(text) > 1 and token.lower_ not in STOP_WORDS:
                words.append((token.i, stem(text), sentence, token.lower_))
        return cls(words, texts, spaces)
