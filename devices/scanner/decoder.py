"""Keyboard-wedge decoder: evdev key events in, one barcode string per scan out.

Pure (no I/O): the evdev driver and the tests feed it the same ``(type, code, value,
timestamp)`` tuples, so a recorded scan exercises exactly the code a real scanner does.

How a scan is told apart from a person typing: a scanner "types" a whole code in a
burst, a few milliseconds between keys, and ends it with its suffix key (Enter by
default). Any gap longer than ``max_interkey_ms`` between key presses means a human is
typing, so everything collected so far is dropped and collection restarts at that key.
A suffix that arrives with fewer than ``min_length`` characters in the burst is dropped
too. Key releases and auto-repeats carry no characters and are ignored (a scanner never
auto-repeats; a held human key does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from evdev import ecodes as e

from devices.scanner.keymap import CTRL_CHARS, CTRL_KEYS, ENTER_KEYS, SHIFT_KEYS, char_for

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class DecoderConfig:
    """How to recognise one scan. Defaults suit a USB wedge scanner left at factory setup."""

    suffix: frozenset[int] = ENTER_KEYS
    max_interkey_ms: float = 50.0
    min_length: int = 3
    # A burst this long without a suffix is a stuck key or a misconfigured suffix.
    max_length: int = 1024


class InputEventLike(Protocol):
    """What the decoder needs from an event; evdev.InputEvent has exactly this."""

    @property
    def type(self) -> int: ...
    @property
    def code(self) -> int: ...
    @property
    def value(self) -> int: ...
    def timestamp(self) -> float: ...


@dataclass(slots=True)
class DecoderStats:
    scans: int = 0
    discarded_typing: int = 0
    discarded_too_short: int = 0
    discarded_too_long: int = 0


@dataclass(slots=True)
class ScanDecoder:
    """Stateful decoder for one input device; feed every event the device emits, in order."""

    config: DecoderConfig = field(default_factory=DecoderConfig)
    stats: DecoderStats = field(default_factory=DecoderStats)
    _chars: list[str] = field(default_factory=list)
    _last_press: float | None = None
    _shift: set[int] = field(default_factory=set)
    _ctrl: set[int] = field(default_factory=set)

    def reset(self) -> None:
        """Forget a half-read scan and held modifiers (after the device was reopened)."""
        self._chars.clear()
        self._last_press = None
        self._shift.clear()
        self._ctrl.clear()

    def feed(self, type_: int, code: int, value: int, timestamp: float) -> str | None:
        """Consume one input event; return the scanned code when this event completes one."""
        if type_ != e.EV_KEY:
            return None  # EV_SYN / EV_MSC frame the key events but carry nothing we need
        if self._track_modifier(code, value) or value != KEY_DOWN:
            return None
        self._check_gap(timestamp)
        if code in self.config.suffix:
            return self._finish()
        ch = CTRL_CHARS.get(code) if self._ctrl else char_for(code, shift=bool(self._shift))
        if ch is None:
            return None  # a non-printing key (F-key, CapsLock…) neither adds nor breaks a scan
        self._chars.append(ch)
        if len(self._chars) > self.config.max_length:
            self.stats.discarded_too_long += 1
            self._chars.clear()
        return None

    def feed_events(self, events: Iterable[InputEventLike]) -> list[str]:
        """Feed a batch of evdev-style events; return the codes they complete, in order."""
        codes: list[str] = []
        for ev in events:
            code = self.feed(ev.type, ev.code, ev.value, ev.timestamp())
            if code is not None:
                codes.append(code)
        return codes

    def _track_modifier(self, code: int, value: int) -> bool:
        held = self._shift if code in SHIFT_KEYS else self._ctrl if code in CTRL_KEYS else None
        if held is None:
            return False
        if value == KEY_DOWN:
            held.add(code)
        elif value == KEY_UP:
            held.discard(code)
        return True

    def _check_gap(self, timestamp: float) -> None:
        last, self._last_press = self._last_press, timestamp
        if last is None:
            return
        if (timestamp - last) * 1000.0 > self.config.max_interkey_ms:
            if self._chars:
                self.stats.discarded_typing += 1
            self._chars.clear()

    def _finish(self) -> str | None:
        chars, self._chars = self._chars, []
        # The next key, whenever it comes, starts a new burst rather than extending this one.
        self._last_press = None
        if not chars:
            return None
        if len(chars) < self.config.min_length:
            self.stats.discarded_too_short += 1
            return None
        self.stats.scans += 1
        return "".join(chars)
