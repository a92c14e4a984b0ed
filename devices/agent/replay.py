"""The ``replay`` scanner driver: recorded evdev events played back in real time.

For the demo and for tests of the whole agent, where no scanner (and no /dev/uinput) is
available. The events go through ``EvdevScanner`` exactly as a real device's would
(same select, same decoder, same timing guard), so a recording of a person typing is
discarded and a recorded scan becomes one ScanEvent.

Recording files are JSON lines, one event per line: ``[timestamp, type, code, value]``
(``timestamp`` in seconds, as ``InputEvent.timestamp()``). ``save_recording`` writes
them from any events (e.g. ``devices.simulators.scanner_recordings.record_scan``).

``ReplayInputDevice`` paces the events by their timestamps (``speed`` 2.0 plays twice
as fast, 0 as fast as possible), optionally loops, and at the end either stays silent
(a scanner nobody uses) or reports ENODEV like an unplugged device.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from evdev import InputEvent

from devices.scanner.decoder import InputEventLike
from devices.simulators.scanner_recordings import record_scan

LOOP_GAP_S = 2.0


def _event(ts: float, type_: int, code: int, value: int) -> InputEvent:
    sec = int(ts)
    return InputEvent(sec, round((ts - sec) * 1_000_000), type_, code, value)


def save_recording(events: Iterable[InputEventLike], path: str | Path) -> Path:
    """Write events as JSON lines ``[timestamp, type, code, value]``."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps([round(ev.timestamp(), 6), ev.type, ev.code, ev.value]) + "\n")
    return path


def load_recording(path: str | Path) -> list[InputEvent]:
    """Read a recording; ValueError names the first bad line."""
    events: list[InputEvent] = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ts, type_, code, value = json.loads(line)
                events.append(_event(float(ts), int(type_), int(code), int(value)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not [timestamp, type, code, value]") from exc
    return events


def scripted_scans(
    codes: Sequence[str], interval_s: float, start_ts: float = 0.0
) -> list[InputEvent]:
    """A scanner scanning ``codes`` one every ``interval_s`` seconds."""
    events: list[InputEvent] = []
    for i, code in enumerate(codes):
        events += record_scan(code, start_ts + (i + 1) * interval_s)
    return events


class ReplayInputDevice:
    """Plays ``events`` back through a real fd (a pipe) so the driver's select() works."""

    def __init__(
        self,
        events: Sequence[InputEvent],
        *,
        name: str = "Shopfloor replay scanner",
        speed: float = 1.0,
        loop: bool = False,
        unplug_at_end: bool = False,
    ) -> None:
        self.name = name
        self._events = sorted(events, key=lambda ev: ev.timestamp())
        self._speed = speed
        self._loop = loop and bool(self._events)
        self._unplug_at_end = unplug_at_end
        self._ready: list[InputEvent] = []
        self._unplugged = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._thread = threading.Thread(target=self._feed, name=f"replay {name}", daemon=True)
        self._thread.start()

    @property
    def fd(self) -> int:
        return self._rfd

    def grab(self) -> None:
        pass  # nothing else reads a replay

    def ungrab(self) -> None:
        pass

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(2)
        os.close(self._rfd)
        os.close(self._wfd)

    def read(self) -> Iterator[InputEvent]:
        with contextlib.suppress(BlockingIOError):
            os.read(self._rfd, 4096)  # the wake-ups; the events are in _ready
        with self._lock:
            ready, self._ready = self._ready, []
            unplugged = self._unplugged
        if unplugged:
            self._wake()  # stay readable: the unplug is still to be reported
        if ready:
            return iter(ready)
        if unplugged:
            raise OSError(errno.ENODEV, "No such device")
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    def _deliver(self, batch: list[InputEvent]) -> None:
        with self._lock:
            self._ready.extend(batch)
        self._wake()

    def _wake(self) -> None:
        # A full pipe already holds wake-ups enough: the reader will come.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wfd, b"x")

    def _feed(self) -> None:
        if not self._events:
            self._finish()
            return
        first = self._events[0].timestamp()
        span = self._events[-1].timestamp() - first
        shift = 0.0
        started = time.monotonic()
        while not self._stop.is_set():
            batch: list[InputEvent] = []
            for ev in self._events:
                offset = ev.timestamp() - first + shift
                due = started + (offset / self._speed if self._speed > 0 else 0.0)
                delay = due - time.monotonic()
                if delay > 0.002:
                    if batch:
                        self._deliver(batch)
                        batch = []
                    if self._stop.wait(delay):
                        return
                shifted = ev.timestamp() + shift
                batch.append(_event(shifted, ev.type, ev.code, ev.value))
            if batch:
                self._deliver(batch)
            if not self._loop:
                break
            shift += span + LOOP_GAP_S  # later rounds carry later timestamps, like real time
            if self._speed == 0 and self._stop.wait(LOOP_GAP_S):
                return
        self._finish()

    def _finish(self) -> None:
        if self._unplug_at_end and not self._stop.is_set():
            with self._lock:
                self._unplugged = True
            self._wake()
