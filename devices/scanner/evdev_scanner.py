"""Keyboard-wedge scanner over evdev: open by path, grab, read, decode.

Identify scanners by their ``/dev/input/by-id/…-event-kbd`` path: ``eventN`` numbers
change across reboots and replugs, the by-id name does not. The device is grabbed
(EVIOCGRAB) so its keystrokes never reach a focused text field on the console as well.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from evdev import InputDevice, list_devices
from evdev import ecodes as e

from devices.errors import DeviceUnavailable
from devices.events import DeviceStatus, ScanEvent, utc_now
from devices.owned import OwnedDevice
from devices.scanner.decoder import DecoderConfig, InputEventLike, ScanDecoder
from devices.scanner.keymap import suffix_keys
from devices.scanner.symbology import guess_symbology

BY_ID_DIR = "/dev/input/by-id"


class InputDeviceLike(Protocol):
    """The part of evdev.InputDevice the driver uses (a recorded replay device has it too)."""

    @property
    def fd(self) -> int: ...
    @property
    def name(self) -> str: ...
    def read(self) -> Iterator[InputEventLike]: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...


def _open_evdev(path: str) -> InputDeviceLike:
    return InputDevice(path)


def decoder_config(
    *, suffix: str = "enter", max_interkey_ms: float = 50.0, min_length: int = 3
) -> DecoderConfig:
    """Build a DecoderConfig from plain config values (suffix by name: "enter", "tab"…)."""
    return DecoderConfig(
        suffix=suffix_keys(suffix), max_interkey_ms=max_interkey_ms, min_length=min_length
    )


class EvdevScanner(OwnedDevice):
    """One wedge scanner. ``read()`` returns the scans completed within ``timeout``.

    Raises DeviceUnavailable when the device cannot be opened or grabbed, or disappears
    while reading (ENODEV on unplug); the scanner is then closed and ``open()`` may be
    called again later.
    """

    def __init__(
        self,
        path: str,
        *,
        device_id: str | None = None,
        config: DecoderConfig | None = None,
        grab: bool = True,
        opener: Callable[[str], InputDeviceLike] = _open_evdev,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.path = path
        self.device_id = device_id or os.path.basename(path)
        self.decoder = ScanDecoder(config or DecoderConfig())
        self._grab = grab
        self._opener = opener
        self._clock = clock
        self._dev: InputDeviceLike | None = None
        self._model = ""

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> DeviceStatus:
        """Open and grab the device; return its online status."""
        self.close()
        try:
            dev = self._opener(self.path)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot open scanner {self.path}: {exc}") from exc
        if self._grab:
            try:
                dev.grab()
            except OSError as exc:
                dev.close()
                raise DeviceUnavailable(
                    f"cannot grab scanner {self.path} (another program holds it?): {exc}"
                ) from exc
        self._dev = dev
        self._model = dev.name
        self.decoder.reset()
        return self.status()

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        # The device may already be gone; releasing it is best effort.
        if self._grab:
            with contextlib.suppress(OSError):
                dev.ungrab()
        with contextlib.suppress(OSError):
            dev.close()

    @property
    def is_open(self) -> bool:
        return self._dev is not None

    def status(self, detail: str = "") -> DeviceStatus:
        return DeviceStatus(
            device=self.device_id,
            state="online" if self._dev is not None else "offline",
            model=self._model,
            port=self.path,
            detail=detail,
            ts=self._clock(),
        )

    # -- reading -----------------------------------------------------------------------

    def read(self, timeout: float | None = 0.5) -> list[ScanEvent]:
        """Wait up to ``timeout`` seconds (None: forever) for input; return completed scans."""
        dev = self._dev
        if dev is None:
            raise DeviceUnavailable(f"scanner {self.path} is not open")
        try:
            ready, _, _ = select.select([dev.fd], [], [], timeout)
            if not ready:
                return []
            codes = self.decoder.feed_events(dev.read())
        except BlockingIOError:
            return []  # select woke us but the events were already consumed
        except OSError as exc:
            self.close()
            what = "was unplugged" if exc.errno == errno.ENODEV else f"failed: {exc}"
            raise DeviceUnavailable(f"scanner {self.path} {what}") from exc
        now = self._clock()
        return [ScanEvent(self.device_id, code, guess_symbology(code), now) for code in codes]

    def scans(self) -> Iterator[ScanEvent]:
        """Yield scans until the device goes away (DeviceUnavailable propagates)."""
        while True:
            yield from self.read(timeout=None)


# -- discovery -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScannerCandidate:
    """A keyboard-like input device that might be a wedge scanner."""

    path: str  # the by-id path when there is one (stable across replugs), else eventN
    event_path: str
    name: str
    phys: str


_DIGITS: frozenset[int] = frozenset(getattr(e, f"KEY_{d}") for d in range(10))
_KP_DIGITS: frozenset[int] = frozenset(getattr(e, f"KEY_KP{d}") for d in range(10))


def _by_id_paths(by_id_dir: str) -> dict[str, str]:
    """realpath(eventN) -> by-id symlink, preferring the "-event-kbd" interface."""
    try:
        names = sorted(os.listdir(by_id_dir))
    except OSError:
        return {}
    found: dict[str, str] = {}
    for name in names:
        link = os.path.join(by_id_dir, name)
        target = os.path.realpath(link)
        if target not in found or name.endswith("-event-kbd"):
            found[target] = link
    return found


def is_keyboard_like(key_caps: Sequence[int]) -> bool:
    """Has Enter and a full set of digits (top row or keypad): what a wedge scanner types."""
    keys = set(key_caps)
    has_enter = e.KEY_ENTER in keys or e.KEY_KPENTER in keys
    return has_enter and (keys >= _DIGITS or keys >= _KP_DIGITS)


def list_scanner_candidates(
    input_dir: str = "/dev/input", by_id_dir: str = BY_ID_DIR
) -> list[ScannerCandidate]:
    """Keyboard-like input devices we can read, by-id path first; [] without /dev/input."""
    try:
        event_paths = list_devices(input_dir)
    except OSError:
        return []
    by_id = _by_id_paths(by_id_dir)
    out: list[ScannerCandidate] = []
    for event_path in sorted(event_paths):
        try:
            dev = InputDevice(event_path)
        except OSError:
            continue  # vanished or unreadable since listing: not a candidate
        try:
            caps = dev.capabilities().get(e.EV_KEY, [])
            name, phys = dev.name, dev.phys or ""
        finally:
            dev.close()
        if not is_keyboard_like(caps):
            continue
        real = os.path.realpath(event_path)
        out.append(ScannerCandidate(by_id.get(real, event_path), event_path, name, phys))
    return out
