"""An in-memory network that drops, duplicates, delays (so reorders) and partitions
messages, driven by virtual time and a seeded RNG so any failure replays exactly."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Faults:
    drop: float = 0.1
    duplicate: float = 0.05
    min_delay: float = 0.001
    max_delay: float = 0.3


@dataclass(order=True)
class _InFlight:
    due: float
    order: int
    src: str = field(compare=False)
    dst: str = field(compare=False)
    payload: bytes = field(compare=False)


class MemoryNetwork:
    def __init__(self, seed: int, faults: Faults | None = None) -> None:
        self.rng = random.Random(seed)
        self.faults = faults or Faults()
        self._queue: list[_InFlight] = []
        self._order = 0
        self._cut: set[frozenset[str]] = set()
        self.sent = 0
        self.dropped = 0

    def partition(self, a: str, b: str) -> None:
        self._cut.add(frozenset((a, b)))

    def heal(self) -> None:
        self._cut.clear()

    def is_cut(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self._cut

    def send(self, src: str, dst: str, payload: bytes, now: float) -> None:
        self.sent += 1
        if self.is_cut(src, dst) or self.rng.random() < self.faults.drop:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        for _ in range(copies):
            delay = self.rng.uniform(self.faults.min_delay, self.faults.max_delay)
            self._order += 1
            heapq.heappush(self._queue, _InFlight(now + delay, self._order, src, dst, payload))

    def due(self, now: float) -> list[tuple[str, str, bytes]]:
        """Messages arriving by `now`, in arrival order. A partition that began while
        a message was in flight also loses it."""
        out: list[tuple[str, str, bytes]] = []
        while self._queue and self._queue[0].due <= now:
            m = heapq.heappop(self._queue)
            if not self.is_cut(m.src, m.dst):
                out.append((m.src, m.dst, m.payload))
        return out

    @property
    def idle(self) -> bool:
        return not self._queue
