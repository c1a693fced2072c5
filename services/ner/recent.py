"""A small LRU map from text to what the models made of it, shared by the NER service's calls.

The ENTITY_RECOGNITION and SKILL_EXTRACTION stages of one job send the same two texts one after the other, and a
job ad is often analysed against many resumes: keeping recent results lets the models read each text once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class RecentTexts(Generic[T]):
    """The values of the `size` most recently used texts (0 keeps nothing). Thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> T | None:
        """The value stored for `text`, or None; a hit makes the text the most recent."""
        with self._lock:
            found = self._items.get(text)
            if found is not None:
                self._items.move_to_end(text)
            return found

    def put(self, text: str, value: T) -> None:
        """Stores a value, dropping the least recently used text beyond the size."""
        if self._size <= 0:
            return
        with self._lock:
            self._items[text] = value
            self._items.move_to_end(text)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
