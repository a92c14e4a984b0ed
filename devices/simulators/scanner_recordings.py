"""Recorded input events of wedge scanners and of people typing, plus a replay device.

There is no /dev/uinput where the tests run, so scans are replayed as the exact event
stream a USB HID wedge scanner produces through evdev: per key an ``EV_MSC/MSC_SCAN``
with the HID usage, the ``EV_KEY`` press, an ``EV_SYN/SYN_REPORT``, then the same for
the release; upper case and symbols wrapped in Left Shift; the GS1 separator (GS) as
Ctrl+]. A scanner types a key every few milliseconds and holds each for one or two; a
person types every 100-300 ms and holds a key for ~80 ms, so presses and releases of
neighbouring keys overlap.

``RecordedInputDevice`` replays such a list through ``EvdevScanner`` (it has the
methods of evdev.InputDevice that the driver uses, and a real fd for select), then
reports ENODEV as an unplugged device does.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence

from evdev import InputEvent
from evdev import ecodes as e

from devices.scanner.keymap import KEYPAD, SUFFIX_NAMES, keys_for_char

# HID usage page 7 codes, as the kernel reports them in MSC_SCAN for USB keyboards.
_HID_USAGE: dict[int, int] = {
    **{getattr(e, f"KEY_{c}"): 0x70004 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")},
    **{getattr(e, f"KEY_{d}"): 0x7001E + i for i, d in enumerate("123456789")},
    e.KEY_0: 0x70027, e.KEY_ENTER: 0x70028, e.KEY_TAB: 0x7002B, e.KEY_SPACE: 0x7002C,
    e.KEY_MINUS: 0x7002D, e.KEY_EQUAL: 0x7002E, e.KEY_LEFTBRACE: 0x7002F,
    e.KEY_RIGHTBRACE: 0x70030, e.KEY_BACKSLASH: 0x70031, e.KEY_SEMICOLON: 0x70033,
    e.KEY_APOSTROPHE: 0x70034, e.KEY_GRAVE: 0x70035, e.KEY_COMMA: 0x70036,
    e.KEY_DOT: 0x70037, e.KEY_SLASH: 0x70038, e.KEY_KPSLASH: 0x70054,
    e.KEY_KPASTERISK: 0x70055, e.KEY_KPMINUS: 0x70056, e.KEY_KPPLUS: 0x70057,
    e.KEY_KPENTER: 0x70058,
    **{getattr(e, f"KEY_KP{d}"): 0x70059 + i for i, d in enumerate("123456789")},
    e.KEY_KP0: 0x70062, e.KEY_KPDOT: 0x70063,
    e.KEY_LEFTCTRL: 0x700E0, e.KEY_LEFTSHIFT: 0x700E1,
}  # fmt: skip

_KEYPAD_FOR_CHAR: dict[str, int] = {ch: code for code, ch in KEYPAD.items()}
_KEYPAD_SYMBOLS = frozenset("-./*+")


def _event(ts: float, type_: int, code: int, value: int) -> InputEvent:
    sec = int(ts)
    return InputEvent(sec, round((ts - sec) * 1_000_000), type_, code, value)


def _key(ts: float, code: int, value: int) -> list[InputEvent]:
    """One key transition as evdev delivers it: MSC_SCAN, EV_KEY, SYN_REPORT."""
    events = []
    if code in _HID_USAGE:
        events.append(_event(ts, e.EV_MSC, e.MSC_SCAN, _HID_USAGE[code]))
    events.append(_event(ts, e.EV_KEY, code, value))
    events.append(_event(ts, e.EV_SYN, e.SYN_REPORT, 0))
    return events


def _strokes(ch: str, *, keypad_digits: bool, keypad_symbols: bool) -> tuple[list[int], int]:
    """(modifiers to hold, key) that type ``ch``."""
    if ch == "\x1d":
        return [e.KEY_LEFTCTRL], e.KEY_RIGHTBRACE
    if (ch.isdigit() and keypad_digits) or (ch in _KEYPAD_SYMBOLS and keypad_symbols):
        return [], _KEYPAD_FOR_CHAR[ch]
    found = keys_for_char(ch)
    if found is None:
        raise ValueError(f"a US-layout wedge scanner cannot type {ch!r}")
    code, shift = found
    return ([e.KEY_LEFTSHIFT] if shift else []), code


def record_scan(
    code: str,
    start_ts: float,
    interkey_ms: float = 8.0,
    use_keypad_digits: bool = False,
    *,
    keypad_symbols: bool = False,
    suffix: str = "enter",
    hold_ms: float = 2.0,
) -> list[InputEvent]:
    """The events a wedge scanner emits for ``code`` followed by its suffix key."""
    step = interkey_ms / 1000.0
    hold = min(hold_ms / 1000.0, step / 3)
    events: list[InputEvent] = []
    ts = start_ts
    for ch in code:
        mods, key = _strokes(ch, keypad_digits=use_keypad_digits, keypad_symbols=keypad_symbols)
        for mod in mods:
            events += _key(ts - hold / 2, mod, 1)
        events += _key(ts, key, 1) + _key(ts + hold, key, 0)
        for mod in mods:
            events += _key(ts + hold * 1.5, mod, 0)
        ts += step
    suffix_key = min(SUFFIX_NAMES[suffix]) if suffix in SUFFIX_NAMES else getattr(e, suffix)
    events += _key(ts, suffix_key, 1) + _key(ts + hold, suffix_key, 0)
    return events


def record_typing(
    text: str,
    start_ts: float,
    interkey_ms: float = 180.0,
    hold_ms: float = 90.0,
    *,
    enter: bool = True,
    autorepeat_after_ms: float | None = None,
) -> list[InputEvent]:
    """A person typing ``text`` (and Enter): slow, overlapping presses and releases.

    With ``autorepeat_after_ms`` each key is held long enough for the kernel to send
    EV_KEY value 2 (repeat) events, as when someone leans on a key.
    """
    step, hold = interkey_ms / 1000.0, hold_ms / 1000.0
    if autorepeat_after_ms is not None:
        hold = autorepeat_after_ms / 1000.0 + 0.1  # held past the repeat delay
    timeline: list[tuple[float, int, int]] = []
    keys = [(_strokes(ch, keypad_digits=False, keypad_symbols=False)) for ch in text]
    if enter:
        keys.append(([], e.KEY_ENTER))
    for i, (mods, key) in enumerate(keys):
        ts = start_ts + i * step
        for mod in mods:
            timeline += [(ts - 0.04, mod, 1), (ts + hold + 0.03, mod, 0)]
        timeline.append((ts, key, 1))
        if autorepeat_after_ms is not None:
            first = ts + autorepeat_after_ms / 1000.0
            timeline += [(first + k * 0.033, key, 2) for k in range(3)]
        timeline.append((ts + hold, key, 0))
    events: list[InputEvent] = []
    for ts, key, value in sorted(timeline, key=lambda t: t[0]):
        events += _key(ts, key, value)
    return events


class RecordedInputDevice:
    """Replays recorded events as an evdev device would, then behaves as unplugged."""

    def __init__(
        self,
        events: Sequence[InputEvent],
        *,
        name: str = "Recorded HID Barcode Scanner",
        unplug_at_end: bool = True,
        batch: int = 64,
    ) -> None:
        self.name = name
        self.grabbed = False
        self.closed = False
        self._events = list(events)
        self._unplug_at_end = unplug_at_end
        self._batch = batch
        # A real fd, so the driver's select() works unchanged: readable while we have
        # something to report (events, or the unplug).
        self._rfd, self._wfd = os.pipe()
        os.write(self._wfd, b"x")

    @property
    def fd(self) -> int:
        return self._rfd

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._rfd)
            os.close(self._wfd)

    def read(self) -> Iterator[InputEvent]:
        if not self._events:
            if self._unplug_at_end:
                raise OSError(errno.ENODEV, "No such device")
            os.read(self._rfd, 1)  # nothing more will come: stop looking readable
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        chunk, self._events = self._events[: self._batch], self._events[self._batch :]
        return iter(chunk)
