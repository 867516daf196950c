"""What each answer of a conversation quoted, so that a follow-up does not quote it again.

The chat asks every question of a conversation on one engine: the spans each answer quoted are kept
here (per index version: a changed index starts afresh) and a follow-up looks them up instead of
answering the earlier questions again (`Engine._given`; `extractive.without_repeats` drops them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["Quoted", "SpanKey"]

SpanKey = tuple[str, int, int]  # (source, start, end): a quoted sentence across answers


class Quoted:
    """A thread-safe LRU of `key` (a question, its history and scope) -> the spans its answer
    quoted, for one index version at a time."""

    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._version: object = None
        self._kept: OrderedDict[Hashable, frozenset[SpanKey]] = OrderedDict()
        self._lock = threading.Lock()

    def _for(self, version: object) -> OrderedDict[Hashable, frozenset[SpanKey]]:
        if version is not self._version:
            self._version, self._kept = version, OrderedDict()
        return self._kept

    def put(self, version: object, key: Hashable, spans: frozenset[SpanKey]) -> None:
        with self._lock:
            kept = self._for(version)
            kept[key] = spans
            kept.move_to_end(key)
            while len(kept) > self._capacity:
                kept.popitem(last=False)

    def get(self, version: object, key: Hashable) -> frozenset[SpanKey] | None:
        """The spans kept for `key` under this index version, or None."""
        with self._lock:
            return self._for(version).get(key)
