"""Waiting for state that arrives asynchronously (over MQTT, from another process).

Poll a reading until it is what the test expects, up to a deadline; on timeout say what
was expected and what was last seen, rather than failing on the first read or sleeping
for a guessed while.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

NOTHING_READ = "nothing (every read failed)"


@dataclass(frozen=True)
class Waited(Generic[T]):
    value: T  # the reading that satisfied the wait
    seconds: float  # how long it took


def wait_for(
    read: Callable[[], T],
    ok: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    expected: str = "",
    show: Callable[[T], str] = repr,
    every: float = 0.1,
    ignore: tuple[type[Exception], ...] = (),
) -> Waited[T]:
    """Call `read()` every `every` seconds until `ok(reading)`; return that reading.

    Exceptions of the `ignore` types (e.g. a process briefly not answering) count as a
    failed read. On timeout raise AssertionError naming `what`, `expected` and the last
    reading as `show` puts it (or the last error).
    """
    start = time.monotonic()
    seen: str = NOTHING_READ
    error: Exception | None = None
    while True:
        try:
            value = read()
        except ignore as exc:
            error = exc
        else:
            error = None
            if ok(value):
                return Waited(value, time.monotonic() - start)
            seen = show(value)
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            lines = [f"timed out after {elapsed:.1f}s waiting for {what}"]
            if expected:
                lines.append(f"  expected: {expected}")
            lines.append(f"  last saw: {seen}")
            if error is not None:
                lines.append(f"  last read failed: {type(error).__name__}: {error}")
            raise AssertionError("\n".join(lines))
        time.sleep(every)


def wait_equal(
    read: Callable[[], T],
    expected: T,
    *,
    timeout: float,
    what: str,
    every: float = 0.1,
    ignore: tuple[type[Exception], ...] = (),
) -> Waited[T]:
    """Wait until `read() == expected`; on timeout show both (and, for mappings, how
    they differ)."""

    def show(value: T) -> str:
        if isinstance(expected, Mapping) and isinstance(value, Mapping):
            return f"{value!r}\n  difference: {mapping_difference(expected, value)}"
        return repr(value)

    return wait_for(
        read,
        lambda value: value == expected,
        timeout=timeout,
        what=what,
        expected=repr(expected),
        show=show,
        every=every,
        ignore=ignore,
    )


def mapping_difference(expected: Mapping[object, object], seen: Mapping[object, object]) -> str:
    """Which keys are missing, unexpected or different in `seen`, compared with `expected`."""
    parts = []
    missing = [k for k in expected if k not in seen]
    extra = [k for k in seen if k not in expected]
    changed = [k for k in expected if k in seen and seen[k] != expected[k]]
    if missing:
        parts.append("missing " + ", ".join(repr(k) for k in missing))
    if extra:
        parts.append("unexpected " + ", ".join(f"{k!r}={seen[k]!r}" for k in extra))
    if changed:
        parts.append(
            "different "
            + ", ".join(f"{k!r}: expected {expected[k]!r}, saw {seen[k]!r}" for k in changed)
        )
    return "; ".join(parts) or "none"
