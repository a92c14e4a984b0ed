"""Byte pipes to a printer: raw TCP (port 9100), serial, USB. One interface, three adapters.

Every transport opens the device per job and closes it afterwards: a printer that was
switched off, unplugged or re-addressed between two receipts then costs one failed
attempt, never a stale handle. Connection problems become ``DeviceUnavailable`` (so the
queue retries them); a reply we cannot read becomes ``ProtocolError``.

Paper status is the real-time query ``DLE EOT 4``. A printer that does not answer it
reports ``PaperStatus.UNKNOWN`` and is printed to anyway: many cheap printers have the
query switched off, and refusing to print on them would be worse than not knowing.

Delivery confirmation: ``sendall`` returning only means the bytes reached our kernel.
When the printer is known to answer ``DLE EOT`` (it answered ``paper_status()`` on this
transport, or ``confirm_delivery=True``), ``send`` asks once more *after* the data and
waits for the answer: TCP and serial keep order, so an answer proves the printer has
received the whole job. Without it a printer switched off mid-send could lose a job
while the queue marks it printed.
"""

from __future__ import annotations

import socket
from enum import StrEnum
from typing import Any, Protocol, cast

import serial

from devices.errors import DeviceUnavailable, ProtocolError
from devices.printer import escpos_commands as cmd


class PaperStatus(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"  # the printer did not answer the query


class PaperOut(DeviceUnavailable):
    """The printer reports no paper.

    What to do: load a new roll; queued jobs print by themselves once it is back.
    """


def parse_paper_status(value: int) -> PaperStatus:
    """Decode the one-byte answer to ``DLE EOT 4``."""
    if value & cmd.STATUS_FIXED_MASK != cmd.STATUS_FIXED_VALUE:
        raise ProtocolError(
            f"paper status byte 0x{value:02x} is not a DLE EOT 4 answer; "
            "check that the port really is an ESC/POS printer"
        )
    if value & cmd.STATUS_PAPER_OUT_BITS:
        return PaperStatus.OUT
    if value & cmd.STATUS_NEAR_END_BITS:
        return PaperStatus.NEAR_END
    return PaperStatus.OK


class PrinterTransport(Protocol):
    """What the print queue needs from a printer connection."""

    @property
    def address(self) -> str: ...

    def send(self, data: bytes) -> None:
        """Deliver one whole job; raises ``DeviceUnavailable`` if it may not have arrived."""
        ...

    def paper_status(self) -> PaperStatus: ...


class NetworkTransport:
    """Raw TCP ("JetDirect", port 9100), one connection per job."""

    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        connect_timeout: float = 3.0,
        io_timeout: float = 10.0,
        status_timeout: float = 1.0,
        confirm_delivery: bool | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.status_timeout = status_timeout
        self._confirm = confirm_delivery  # None: confirm once the printer answered status

    @property
    def address(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def _unavailable(self, exc: BaseException) -> DeviceUnavailable:
        return DeviceUnavailable(
            f"printer {self.address} unreachable ({exc}); check that it is on and on the "
            "network. The job stays queued and is retried."
        )

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), self.connect_timeout)
        except OSError as exc:
            raise self._unavailable(exc) from exc
        sock.settimeout(self.io_timeout)
        return sock

    def send(self, data: bytes) -> None:
        with self._connect() as sock:
            try:
                sock.sendall(data)
                if self._confirm:
                    sock.sendall(cmd.PAPER_STATUS_QUERY)
                    if _recv_byte(sock) is None:
                        raise DeviceUnavailable(
                            f"printer {self.address} closed the connection before "
                            "confirming the job; it will be sent again"
                        )
            except OSError as exc:  # includes timeouts: an unanswered confirm is a failure
                raise self._unavailable(exc) from exc

    def paper_status(self) -> PaperStatus:
        with self._connect() as sock:
            try:
                sock.sendall(cmd.PAPER_STATUS_QUERY)
                sock.settimeout(self.status_timeout)
                answer = _recv_byte(sock)
            except TimeoutError:
                answer = None
            except OSError as exc:
                raise self._unavailable(exc) from exc
        return self._remember(answer)

    def _remember(self, answer: int | None) -> PaperStatus:
        if answer is None:
            return PaperStatus.UNKNOWN
        if self._confirm is None:
            self._confirm = True
        return parse_paper_status(answer)


def _recv_byte(sock: socket.socket) -> int | None:
    chunk = sock.recv(1)
    return chunk[0] if chunk else None


class _SerialPort(Protocol):
    def write(self, data: bytes, /) -> int | None: ...
    def flush(self) -> None: ...
    def read(self, size: int = 1, /) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


class SerialTransport:
    """A serial (RS-232 or USB-serial) printer via pyserial, opened per job.

    ``url`` is a device path (``/dev/ttyUSB0``) or any pyserial URL; tests use
    ``socket://host:port`` to drive the same code against the TCP simulator.
    """

    def __init__(
        self,
        url: str,
        baudrate: int = 9600,
        *,
        rtscts: bool = False,
        dsrdtr: bool = False,
        write_timeout: float = 10.0,
        status_timeout: float = 1.0,
        confirm_delivery: bool | None = None,
    ) -> None:
        self.url = url
        self._options: dict[str, Any] = {
            "baudrate": baudrate,
            # Hardware flow control keeps a slow printer's receive buffer from overrunning.
            "rtscts": rtscts,
            "dsrdtr": dsrdtr,
            "timeout": status_timeout,
            "write_timeout": write_timeout,
        }
        self._confirm = confirm_delivery

    @property
    def address(self) -> str:
        return self.url

    def _open(self) -> _SerialPort:
        try:
            # pyserial types the URL factory as SerialBase; every handler it returns
            # (device, socket://, loop://) has the buffer methods we use.
            return cast(_SerialPort, serial.serial_for_url(self.url, **self._options))
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(
                f"cannot open printer port {self.url} ({exc}); check the cable and the "
                "port name. The job stays queued and is retried."
            ) from exc

    def _query(self, port: _SerialPort) -> int | None:
        port.reset_input_buffer()  # drop stale bytes so the answer is ours
        port.write(cmd.PAPER_STATUS_QUERY)
        port.flush()
        chunk = port.read(1)
        return chunk[0] if chunk else None

    def send(self, data: bytes) -> None:
        port = self._open()
        try:
            port.write(data)
            port.flush()
            if self._confirm and self._query(port) is None:
                raise DeviceUnavailable(f"printer on {self.url} did not confirm the job")
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnavailable(f"printer on {self.url} failed while sending: {exc}") from exc
        finally:
            port.close()

    def paper_status(self) -> PaperStatus:
        port = self._open()
        try:
            answer = self._query(port)
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnavailable(f"printer on {self.url} failed: {exc}") from exc
        finally:
            port.close()
        if answer is None:
            return PaperStatus.UNKNOWN
        if self._confirm is None:
            self._confirm = True
        return parse_paper_status(answer)


class UsbTransport:
    """A USB printer through python-escpos ``Usb`` (needs pyusb and access to the device).

    Deliberately thin and NOT covered by tests: there is no USB printer (nor pyusb) in
    CI. It only adapts python-escpos's open/write/read to this interface; anything it
    raises while talking to the device is reported as ``DeviceUnavailable`` so the
    queue keeps the job. Delivery is not confirmed beyond the USB bulk write.
    """

    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        *,
        timeout_ms: int = 5000,
        in_ep: int = 0x82,
        out_ep: int = 0x01,
    ) -> None:
        self.vendor_id, self.product_id = vendor_id, product_id
        self._kwargs: dict[str, Any] = {"timeout": timeout_ms, "in_ep": in_ep, "out_ep": out_ep}

    @property
    def address(self) -> str:
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"

    def _open(self) -> Any:
        from escpos.printer import Usb  # imported late: pyusb is optional on the node

        try:
            printer = Usb(self.vendor_id, self.product_id, **self._kwargs)
            printer.open()
        except Exception as exc:  # python-escpos raises RuntimeError, its own errors, USBError
            raise DeviceUnavailable(f"cannot open USB printer {self.address}: {exc}") from exc
        return printer

    def send(self, data: bytes) -> None:
        printer = self._open()
        try:
            printer._raw(data)  # python-escpos's only raw-bytes entry point
        except Exception as exc:
            raise DeviceUnavailable(f"USB printer {self.address} failed: {exc}") from exc
        finally:
            printer.close()

    def paper_status(self) -> PaperStatus:
        printer = self._open()
        try:
            answer = bytes(printer.query_status(cmd.PAPER_STATUS_QUERY))
        except Exception as exc:
            raise DeviceUnavailable(f"USB printer {self.address} failed: {exc}") from exc
        finally:
            printer.close()
        return parse_paper_status(answer[-1]) if answer else PaperStatus.UNKNOWN
