"""Serial (RS-232 or USB-CDC) barcode scanner: one scan per terminated line."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import serial

from devices.errors import DeviceUnavailable
from devices.events import DeviceStatus, ScanEvent, utc_now
from devices.owned import OwnedDevice
from devices.scanner.lines import LineDecoder
from devices.scanner.symbology import guess_symbology

# Reads return after at most this long so read(timeout) can keep its own deadline; it is
# set once at open because every timeout change is a tcsetattr() on the port.
READ_SLICE = 0.05


def _open_serial(url: str, baudrate: int) -> serial.Serial:
    # serial_for_url also accepts socket:// and rfc2217:// for scanners behind a
    # network serial server, not just /dev/tty* paths.
    return serial.serial_for_url(url, baudrate=baudrate, timeout=READ_SLICE)


class SerialScanner(OwnedDevice):
    """Reads lines from a serial port; each non-empty cleaned line is one ScanEvent.

    Serial errors (port missing, unplugged mid-read) raise DeviceUnavailable and close
    the scanner; ``open()`` may be called again later.
    """

    def __init__(
        self,
        port: str,
        *,
        device_id: str | None = None,
        baudrate: int = 9600,
        terminators: bytes = b"\r\n",
        encoding: str = "utf-8",
        opener: Callable[[str, int], serial.Serial] = _open_serial,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.port = port
        self.device_id = device_id or port.rsplit("/", 1)[-1]
        self.baudrate = baudrate
        self.lines = LineDecoder(terminators=terminators, encoding=encoding)
        self._opener = opener
        self._clock = clock
        self._ser: serial.Serial | None = None

    def open(self) -> DeviceStatus:
        self.close()
        try:
            ser = self._opener(self.port, self.baudrate)
            ser.reset_input_buffer()  # bytes from before we opened belong to nobody
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnavailable(f"cannot open serial scanner {self.port}: {exc}") from exc
        self._ser = ser
        self.lines.reset()
        return self.status()

    def close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            # Closing a vanished port is best effort.
            with contextlib.suppress(serial.SerialException, OSError):
                ser.close()

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def status(self, detail: str = "") -> DeviceStatus:
        return DeviceStatus(
            device=self.device_id,
            state="online" if self._ser is not None else "offline",
            model="serial scanner",
            port=self.port,
            detail=detail,
            ts=self._clock(),
        )

    def read(self, timeout: float | None = 0.5) -> list[ScanEvent]:
        """Wait up to ``timeout`` seconds for data; return the scans completed so far."""
        ser = self._ser
        if ser is None:
            raise DeviceUnavailable(f"serial scanner {self.port} is not open")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                data = ser.read(max(1, ser.in_waiting))  # returns within READ_SLICE
                if data:
                    data += ser.read(ser.in_waiting)  # take the rest of the burst in one go
            except (serial.SerialException, OSError) as exc:
                self.close()
                raise DeviceUnavailable(f"serial scanner {self.port} failed: {exc}") from exc
            codes = self.lines.feed(data)
            if codes or (deadline is not None and time.monotonic() >= deadline):
                break
        now = self._clock()
        return [ScanEvent(self.device_id, c, guess_symbology(c), now) for c in codes]

    def scans(self) -> Iterator[ScanEvent]:
        """Yield scans until the port goes away (DeviceUnavailable propagates)."""
        while True:
            yield from self.read(timeout=None)
