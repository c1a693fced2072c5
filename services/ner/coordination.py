"""Coordinated modifiers: "written and verbal communication" names Written Communication as well as Verbal
Communication. The phrase matcher only sees the second ("verbal communication"); this reads the first modifier
with the shared head ("written communication") and asks the same matcher."""

from __future__ import annotations

from collections.abc import Iterator

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.strings import get_string_id
from spacy.tokens import Doc

CONJUNCTIONS = frozenset({"and", "or"})
_CONJUNCTION_IDS = frozenset(get_string_id(word) for word in CONJUNCTIONS)
# How many words after the second modifier may belong to the shared head ("verbal communication skills").
HEAD_WORDS = 4
# A word ending in "-ed" after the conjunction is a verb, not a modifier ("verified insurance and handled billing
# questions"), unless the first word is an adjective too ("manual and automated testing").
ADJECTIVE_ENDINGS = ("al", "ic", "ive", "ed", "en", "ful", "ous", "ary", "ual", "ar", "ent", "ant", "ile")


def coordinated_spans(doc: Doc, matcher: PhraseMatcher) -> Iterator[tuple[int, int, int]]:
    """(match key, first token, end token) in `doc` of each term spelt by the first of two coordinated
    modifiers and the head they share: "A and|or B head..." read as "A head...". The span runs from A to the
    head's last word."""
    # Conjunctions are looked for in the lower-case ids of the tokens: a spaCy Token is built anew on every
    # `doc[i]`, and three per position cost more than the rest of the search.
    lower = doc.to_array("LOWER").tolist()
    for i in range(len(doc) - 3):
        if lower[i + 1] not in _CONJUNCTION_IDS:
            continue
        first, second = doc[i], doc[i + 2]
        if not (first.is_alpha and second.is_alpha):
            continue
        if first.lower_ in STOP_WORDS or second.lower_ in STOP_WORDS:
            continue
        if second.lower_.endswith("ed") and not first.lower_.endswith(ADJECTIVE_ENDINGS):
            continue
        head = doc[i + 3 : i + 3 + HEAD_WORDS]
        reading = Doc(doc.vocab, words=[first.text, *[t.text for t in head]])
        for key, start, end in matcher(reading):
            # The term must start at the first modifier and take at least one head word; the head's words
            # sit two tokens further on in the text.
            if start == 0 and end >= 2:
                yield key, i, i + 2 + end
