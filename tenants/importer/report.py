"""What the caller gets (the report, the refusal) and the bad lines kept on the way."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

# Types in the order they load: each refers only to types before it.
from .limits import MAX_BROKEN_KEYS, MAX_LISTED, RECORD_TYPES

# --- What the caller gets ------------------------------------------------------------------


@dataclass
class TypeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What a load did, per record type: records created, updated and left unchanged."""

    counts: dict[str, TypeCounts] = field(default_factory=lambda: {name: TypeCounts() for name in RECORD_TYPES})

    @property
    def changed(self) -> int:
        return sum(counts.created + counts.updated for counts in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{name}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
            for name, counts in self.counts.items()
        ]


@dataclass(frozen=True, order=True)
class BadLine:
    line: int
    record_type: str
    reason: str

    def __str__(self) -> str:
        if self.record_type:
            return f"line {self.line}: {self.record_type}: {self.reason}"
        return f"line {self.line}: {self.reason}"


class FeedRejected(Exception):
    """The feed had bad lines; nothing from it was kept."""

    def __init__(self, bad_lines: list[BadLine], total: int):
        self.bad_lines = bad_lines  # the first MAX_LISTED, by line number
        self.total = total
        super().__init__(f"{total} bad line(s); nothing was loaded")


# --- Bad lines -----------------------------------------------------------------------------


class _BadLines:
    """Every bad line is counted; the first MAX_LISTED by line number are kept to be named."""

    def __init__(self):
        self.total = 0
        self._heap: list[tuple[int, str, str]] = []  # (-line, type, reason): the largest line on top
        self.broken_keys: set[tuple[str, str]] = set()

    def add(self, line: int, record_type: str, reasons: str | list[str]) -> None:
        reason = reasons if isinstance(reasons, str) else "; ".join(reasons)
        self.total += 1
        entry = (-line, record_type, reason)
        if len(self._heap) < MAX_LISTED:
            heapq.heappush(self._heap, entry)
        elif line < -self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def remember(self, kind: str, key) -> None:
        if key is not None and len(self.broken_keys) < MAX_BROKEN_KEYS:
            self.broken_keys.add((kind, str(key)))

    def is_broken(self, kind: str, key) -> bool:
        return (kind, str(key)) in self.broken_keys

    def listed(self) -> list[BadLine]:
        return sorted(BadLine(-line, record_type, reason) for line, record_type, reason in self._heap)
