"""A network printer on a real TCP socket, for tests and the demo.

The socket pump around the sans-I/O decoders in ``devices.printer.escpos_decode`` (ESC/POS
receipts) and ``devices.printer.tspl_decode`` (TSPL labels). Like a real printer's port
9100 it serves one connection at a time, answers ``DLE EOT`` status queries as they
arrive (so a client that asks after its data knows everything before was received),
and keeps what it printed:

    sim = EscPosSimulator()            # port 0: a free port, kept across restarts
    sim.start()
    ...                                 # print to ("127.0.0.1", sim.port)
    sim.documents[0].text()            # the receipt as plain text
    sim.paper_out = True               # status now answers "paper end"
    sim.stop(); sim.start()            # switched off and on again, same port

``paper_out`` changes only the status answer: data sent anyway is still decoded and
shows up in ``documents``, so a test notices a client that ignores the paper sensor.
Power-cycling resets the printer's modes (Chinese mode, styles) and drops a half-received
document, but the list of documents already printed is kept for the test to inspect.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from devices.printer.escpos_decode import (
    PAPER_NEAR_END,
    PAPER_OK,
    PAPER_OUT,
    EscPosDecoder,
    PrintedDocument,
)
from devices.printer.tspl_decode import PrintedLabel, TsplDecoder

Language = Literal["escpos", "tspl"]


class EscPosSimulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        language: Language = "escpos",
        answers_status: bool = True,
        idle_timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.language = language
        self.answers_status = answers_status
        self.idle_timeout = idle_timeout  # drop a client that holds the port and sends nothing
        self.paper_out = False
        self.paper_near_end = False
        self.connections = 0
        self._lock = threading.Condition()
        self._documents: list[PrintedDocument] = []
        self._escpos = self._new_escpos()
        self._tspl = TsplDecoder()
        self._received = bytearray()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    # --- power ------------------------------------------------------------------------

    def start(self) -> EscPosSimulator:
        if self._thread is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Rebinding the same port right after stop() must not fail on TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._escpos = self._new_escpos()  # a fresh power-on state
            self._tspl = TsplDecoder()
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(target=self._serve, name=f"escpos-sim:{self.port}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Switch the printer off: refuse connections, cut the current one."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> EscPosSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    # --- what was printed -------------------------------------------------------------

    @property
    def documents(self) -> list[PrintedDocument]:
        """Receipts completed by a cut, oldest first."""
        with self._lock:
            return list(self._documents)

    @property
    def current(self) -> PrintedDocument:
        """What is on the paper since the last cut (a job sent without a cut)."""
        with self._lock:
            return self._escpos.current

    @property
    def labels(self) -> list[PrintedLabel]:
        with self._lock:
            return list(self._tspl.labels)

    @property
    def received(self) -> bytes:
        """Every byte received since creation (for debugging a failing test)."""
        with self._lock:
            return bytes(self._received)

    @property
    def unknown_commands(self) -> list[bytes]:
        with self._lock:
            return list(self._escpos.unknown)

    def wait_for_documents(self, count: int, timeout: float = 5.0) -> list[PrintedDocument]:
        """Block until ``count`` documents were printed (or timeout); return them all."""
        self._wait_until(lambda: len(self._documents) >= count, timeout)
        return self.documents

    def wait_for_labels(self, count: int, timeout: float = 5.0) -> list[PrintedLabel]:
        self._wait_until(lambda: len(self._tspl.labels) >= count, timeout)
        return self.labels

    def _wait_until(self, done: Callable[[], bool], timeout: float) -> None:
        with self._lock:
            self._lock.wait_for(done, timeout)

    # --- the wire ---------------------------------------------------------------------

    def _new_escpos(self) -> EscPosDecoder:
        return EscPosDecoder(self._paper_status, self._documents, self.answers_status)

    def _paper_status(self) -> int:
        if self.paper_out:
            return PAPER_OUT
        return PAPER_NEAR_END if self.paper_near_end else PAPER_OK

    def _serve(self) -> None:
        assert self._listener is not None
        listener = self._listener
        with selectors.DefaultSelector() as sel:
            sel.register(listener, selectors.EVENT_READ)
            while self._running.is_set():
                # Short select timeouts keep stop() prompt without closing sockets
                # under a thread that is blocked on them.
                if not sel.select(timeout=0.05):
                    continue
                conn, _ = listener.accept()
                with conn:
                    self.connections += 1
                    self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        idle_since = time.monotonic()
        while self._running.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                if time.monotonic() - idle_since > self.idle_timeout:
                    return
                continue
            except OSError:
                return
            if not data:
                return
            idle_since = time.monotonic()
            reply = self._feed(data)
            if reply:
                try:
                    conn.sendall(reply)
                except OSError:
                    return

    def _feed(self, data: bytes) -> bytes:
        with self._lock:
            self._received += data
            decoder = self._escpos if self.language == "escpos" else self._tspl
            reply = decoder.feed(data)
            self._lock.notify_all()
        return reply
