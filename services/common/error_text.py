"""Bounds on the text of errors, so an error never echoes unbounded input back to the caller or into the logs.

A message may quote what the caller sent (an id, a value). Whatever the caller sent, the message stays short:
every run of more than `MAX_QUOTED_CHARS` non-space characters (a quoted id, a pasted value) is cut to that many
and says how much was left out, and the whole text is capped. Producers may also quote values with `quote()`
and count lists with `counted()`, which say the same in fewer characters.
"""

from __future__ import annotations

import re
from collections.abc import Sized

MAX_QUOTED_CHARS = 64
MAX_MESSAGE_CHARS = 1024
MAX_FIELD_CHARS = 128
MAX_DESCRIPTION_CHARS = 256
# A request with more bad fields than this gets the first ones listed and the total counted in the message.
MAX_VIOLATIONS = 20

_LONG_RUN = re.compile(rf"\S{{{MAX_QUOTED_CHARS + 1},}}")


def _shortened_run(match: re.Match[str]) -> str:
    # The kept part and the ellipsis make MAX_QUOTED_CHARS, so bounding a bounded text changes nothing.
    run = match.group(0)
    return f"{run[: MAX_QUOTED_CHARS - 1]}… (+{len(run) - MAX_QUOTED_CHARS + 1} chars)"


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` with every long run of non-space characters shortened, capped at `limit` characters: its start
    and its end are kept (an error names its subject first and what is wrong last), the middle is counted."""
    if len(text) <= MAX_QUOTED_CHARS:
        return text
    if len(text) <= 4 * limit:
        shortened = _LONG_RUN.sub(_shortened_run, text)
        if len(shortened) <= limit:
            return shortened
        head, tail = shortened, shortened
    else:  # only the ends can survive the cap: a 16 MB message costs no more than a short one
        head = _LONG_RUN.sub(_shortened_run, text[: 2 * limit])
        tail = _LONG_RUN.sub(_shortened_run, text[-limit:])
    marker = f" … ({len(text)} chars in all) … "
    keep_tail = max(limit // 4 - len(marker), 0)
    keep_head = max(limit - len(marker) - keep_tail, 0)
    return head[:keep_head] + marker + (tail[-keep_tail:] if keep_tail else "")


def quote(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """repr(value), cut to `limit` characters with a count of what was left out."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… (+{len(text) - limit + 1} chars)"


def counted(items: Sized, noun: str) -> str:
    """'3 ids' for a list of three ids: lists in messages are counted, not repeated."""
    count = len(items)
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
