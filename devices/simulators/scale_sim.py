"""A scale on a real pseudo-terminal, speaking continuous output, Toledo 8217 or SICS.

The driver under test opens ``sim.path`` with pyserial exactly as it would open
``/dev/serial/by-id/usb-…``: ``path`` is a symlink to the pty's slave side, and the
simulator thread owns the master side. ``unplug()`` closes the pty and removes the
link (the driver then gets EIO, like a USB adapter pulled out); ``replug()`` makes a new
pty behind the same link, so a by-id style path survives the replug as on real hardware.

The physical model is small on purpose: a load in grams, a zero offset, a tare, a
"moving" flag and an alarm (overload / underload / zero error). Wire formats are the
ones documented in ``devices.scale.protocols``.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal

from devices.scale.driver import ScaleConfig
from devices.scale.protocols import CENTER_ZERO, MOTION, NET, OVER, UNDER, ZERO_ERROR

Alarm = Literal["over", "under"] | None


class PtyPort:
    """One pty pair with a stable symlink to its slave; reusable by other serial sims."""

    def __init__(self, link_path: str) -> None:
        self.link_path = link_path
        self.master: int | None = None
        self._slave: int | None = None

    def open(self) -> None:
        master, slave = os.openpty()
        # Raw from the start: with echo on, the pty would bounce our own frames back to
        # us as if the host had sent them, and CR would be turned into LF.
        tty.setraw(slave)
        os.set_blocking(master, False)
        # Keep a slave fd open ourselves: on Linux a master whose slave side is closed
        # reads EIO forever, which would spin our loop between driver reconnects.
        self.master, self._slave = master, slave
        tmp_link = self.link_path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_link)
        os.symlink(os.ttyname(slave), tmp_link)
        os.replace(tmp_link, self.link_path)

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.link_path)
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None

    def write(self, data: bytes) -> None:
        if self.master is None:
            return
        # Nobody reading and the buffer full: drop, as a real UART would overrun.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.master, data)

    def read(self, timeout: float) -> bytes:
        fd = self.master  # unplug() may close it from another thread meanwhile
        if fd is None:
            time.sleep(timeout)
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            return os.read(fd, 1024) if ready else b""
        except (OSError, ValueError):
            return b""  # closed under us: the next round sees master is None


def _kg(grams: int) -> str:
    return f"{abs(grams) / 1000:.3f}"


class ScaleSimulator:
    """Simulated scale. Use as a context manager; drive it with the ``set_*`` methods."""

    def __init__(
        self,
        protocol: Literal["continuous", "toledo8217", "sics"],
        *,
        link_dir: str | None = None,
        stream_interval: float | None = None,
        unit: Literal["kg", "g"] = "kg",
        zero_range_grams: int = 300,
    ) -> None:
        self.protocol = protocol
        self.unit = unit
        self.stream_interval = stream_interval  # continuous only; None: frames via emit()
        self.zero_range_grams = zero_range_grams
        self._own_dir = link_dir is None
        self._dir = link_dir or tempfile.mkdtemp(prefix="scale-sim-")
        self.path = os.path.join(self._dir, f"usb-Sim_Scale_{protocol}-if00-port0")
        self.port = PtyPort(self.path)
        self.received: list[bytes] = []  # commands the host sent, in order
        self._lock = threading.Lock()
        self._load = 0
        self._zero_offset = 0
        self._tare = 0
        self._moving = False
        self._alarm: Alarm = None
        self._zero_error = False
        self._cmd_buf = bytearray()
        self._running = False
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ScaleSimulator:
        self.port.open()
        self._running = True
        self._thread = threading.Thread(target=self._run, name="scale-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self.port.close()
        if self._own_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)

    def __enter__(self) -> ScaleSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def scale_config(self, **overrides: Any) -> ScaleConfig:
        """A driver config for this simulator.

        A pty has no character size or parity: Linux forces 8 bits, and some kernels
        refuse a CS7 request outright, so the port is opened 8N1 even for 8217 (7E1 on a
        real line). The bytes are the same; the 8217 parser ignores bit 7 either way.
        """
        settings: dict[str, Any] = {"bytesize": 8, "parity": "N", **overrides}
        return ScaleConfig(port=self.path, protocol=self.protocol, unit=self.unit, **settings)

    def unplug(self) -> None:
        with self._lock:
            self.port.close()
            self._cmd_buf.clear()

    def replug(self) -> None:
        with self._lock:
            self.port.open()

    # -- the physical scale ------------------------------------------------------------

    def set_weight(self, grams: int, *, stable: bool = True) -> None:
        """Put ``grams`` on the platter (before zero offset and tare); clears alarms."""
        with self._lock:
            self._load, self._moving, self._alarm = grams, not stable, None

    def set_unstable(self, moving: bool = True) -> None:
        with self._lock:
            self._moving = moving

    def set_overload(self) -> None:
        with self._lock:
            self._alarm = "over"

    def set_underload(self) -> None:
        with self._lock:
            self._alarm = "under"

    def set_zero_error(self, on: bool = True) -> None:
        with self._lock:
            self._zero_error = on

    @property
    def tare_grams(self) -> int:
        return self._tare

    def inject(self, raw: bytes) -> None:
        """Write raw bytes as-is: line noise, a cut frame, a frame in the wrong unit…"""
        with self._lock:
            self.port.write(raw)

    def emit(self, count: int = 1) -> None:
        """Send ``count`` frames of the current state (continuous output)."""
        with self._lock:
            for _ in range(count):
                self.port.write(self._continuous_frame())

    def _gross(self) -> int:
        return self._load - self._zero_offset

    def _zero(self) -> str:
        if self._moving:
            return "I"
        gross = self._gross()
        if abs(gross) > self.zero_range_grams:
            return "+" if gross > 0 else "-"
        self._zero_offset += gross
        return "A"

    def _do_tare(self) -> str:
        if self._moving:
            return "I"
        if self._gross() < 0:
            return "-"
        self._tare = self._gross()  # taring an empty platter clears the tare
        return "S"

    def _clear_tare(self) -> None:
        self._tare = 0

    # -- wire formats ------------------------------------------------------------------

    def _continuous_frame(self) -> bytes:
        kind = "NT" if self._tare else "GS"
        if self._alarm is not None:
            sign = "+" if self._alarm == "over" else "-"
            return f"OL,{kind},{sign}999.999kg\r\n".encode()
        net = self._gross() - self._tare
        state = "US" if self._moving else "ST"
        sign = "-" if net < 0 else "+"
        figure = f"{_kg(net):>07}kg" if self.unit == "kg" else f"{abs(net):06d}g"
        return f"{state},{kind},{sign}{figure}\r\n".encode()

    def _toledo_reply(self) -> bytes:
        net = self._gross() - self._tare
        bits = NET if self._tare else 0
        if self._zero_error:
            bits |= ZERO_ERROR
        if self._alarm == "over":
            bits |= OVER
        elif self._alarm == "under" or net < 0:
            bits |= UNDER  # 8217 has no way to send a negative figure
        elif self._moving:
            bits |= MOTION
        if bits & ~(NET | CENTER_ZERO):
            return b"\x02?" + bytes([0x40 | bits]) + b"\r"
        figure = f"{net / 1000:06.3f}" if self.unit == "kg" else f"{net:06d}"
        return b"\x02" + figure.encode() + b"\r"

    def _sics_weight(self, immediate: bool) -> bytes:
        if self._alarm is not None:
            return b"S +\r\n" if self._alarm == "over" else b"S -\r\n"
        if self._moving and not immediate:
            return b"S I\r\n"  # "S" waits for stability; we answer as if it timed out
        net = self._gross() - self._tare
        flag = "D" if self._moving else "S"
        return f"S {flag} {'-' if net < 0 else ''}{_kg(net):>10} kg\r\n".encode()

    def _sics_answer(self, line: bytes) -> bytes:
        cmd = line.strip().upper()
        if cmd == b"SI":
            return self._sics_weight(immediate=True)
        if cmd == b"S":
            return self._sics_weight(immediate=False)
        if cmd == b"Z":
            return f"Z {self._zero()}\r\n".encode()
        if cmd == b"T":
            flag = self._do_tare()
            if flag == "S":
                return f"T S {_kg(self._tare):>10} kg\r\n".encode()
            return f"T {flag}\r\n".encode()
        return b"ES\r\n"

    def _toledo_answer(self, byte: int) -> bytes:
        if byte == ord("W"):
            return self._toledo_reply()
        actions: dict[int, Callable[[], object]] = {
            ord("Z"): self._zero,
            ord("T"): self._do_tare,
            ord("C"): self._clear_tare,
        }
        action = actions.get(byte)
        if action is not None:
            action()  # 8217 acknowledges nothing; the next W shows the result
        return b""

    # -- thread ------------------------------------------------------------------------

    def _run(self) -> None:
        next_frame = time.monotonic()
        while self._running:
            data = self.port.read(0.005)
            with self._lock:
                if data:
                    self._on_host_bytes(data)
                if self.protocol == "continuous" and self.stream_interval is not None:
                    now = time.monotonic()
                    if now >= next_frame:
                        self.port.write(self._continuous_frame())
                        next_frame = now + self.stream_interval

    def _on_host_bytes(self, data: bytes) -> None:
        if self.protocol == "toledo8217":
            for byte in data:
                if byte not in b"\r\n":
                    self.received.append(bytes([byte]))
                    self.port.write(self._toledo_answer(byte))
        elif self.protocol == "sics":
            for byte in data:
                if byte in b"\r\n":
                    if self._cmd_buf:
                        line = bytes(self._cmd_buf)
                        self._cmd_buf.clear()
                        self.received.append(line)
                        self.port.write(self._sics_answer(line))
                else:
                    self._cmd_buf.append(byte)
        # A continuous-output scale ignores whatever the host sends.
