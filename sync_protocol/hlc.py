"""Hybrid logical clock (Kulkarni et al.): physical milliseconds plus a logical counter.

A timestamp is one integer, `wall_ms << 16 | counter`, so it sorts, stores and compares
as a plain BIGINT; ties between origins are broken by origin id (`Stamp`). The clock is
fed its physical time by the caller, which keeps it deterministic under simulation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def wall_ms_of(hlc: int) -> int:
    return hlc >> COUNTER_BITS


def counter_of(hlc: int) -> int:
    return hlc & COUNTER_MASK


def system_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class HybridClock:
    """Issues monotonically increasing HLC stamps.

    `max_drift_ms` is the clock guard: a remote stamp further ahead of our physical
    time than that is not observed (it would drag every later stamp forward), and
    `observe` reports it so the caller can quarantine and flag the op.
    """

    physical_ms: Callable[[], int] = system_ms
    max_drift_ms: int = 5 * 60 * 1000
    last: int = field(default=0)

    def now(self) -> int:
        wall = self.physical_ms()
        last_wall = wall_ms_of(self.last)
        if wall > last_wall:
            self.last = pack(wall, 0)
        else:
            # Physical time has not advanced (or went backwards): count within last_wall.
            counter = counter_of(self.last) + 1
            if counter > COUNTER_MASK:
                self.last = pack(last_wall + 1, 0)
            else:
                self.last = pack(last_wall, counter)
        return self.last

    def now_after(self, floor: int) -> int:
        """A stamp above `floor` too: an origin's last stamp, which another writer of the
        same origin (a hub worker) or this one before a restart may have issued."""
        stamp = self.now()
        if stamp <= floor:
            self.last = stamp = floor + 1
        return stamp

    def floor(self, own_last: int) -> int:
        """Resume above this replica's own last stamp, however far ahead of the wall
        clock it is (the guard is for others' stamps). Returns how many ms ahead it is."""
        if own_last > self.last:
            self.last = own_last
        return max(0, wall_ms_of(own_last) - self.physical_ms())

    def is_too_far_ahead(self, remote: int) -> bool:
        return wall_ms_of(remote) - self.physical_ms() > self.max_drift_ms

    def observe(self, remote: int) -> bool:
        """Advance past a received stamp. Returns False (and ignores it) when the stamp
        is beyond the clock guard."""
        if self.is_too_far_ahead(remote):
            return False
        if remote > self.last:
            self.last = remote
        return True
