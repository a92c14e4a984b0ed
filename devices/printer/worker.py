"""The one consumer of a ``PrintQueue``: sends the head job, records what happened.

Per attempt: ask the paper sensor (if the printer answers), refuse to send into an
empty printer, send, and mark the job printed; on any failure mark it ``retrying``
with the error and a backoff delay. The worker never drops a job and never dies on a
job's error: an unexpected exception is logged with its traceback and retried like a
device fault, so a bug shows up in ``pending()`` instead of as a silent dead thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from devices.errors import DeviceError
from devices.printer.queue import PrintJob, PrintQueue
from devices.printer.transport import PaperOut, PaperStatus, PrinterTransport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: first_delay, ×factor per failed attempt, capped at max_delay."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 60.0

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.first_delay * self.factor ** max(0, attempts - 1))


class PrintWorker:
    def __init__(
        self,
        queue: PrintQueue,
        transport: PrinterTransport,
        *,
        retry: RetryPolicy | None = None,
        check_paper: bool = True,
        idle_poll: float = 5.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``sleep`` replaces the idle wait of ``run`` (tests); by default the worker
        waits on the queue, so a new job wakes it at once."""
        self.queue = queue
        self.transport = transport
        self.retry = retry or RetryPolicy()
        self.check_paper = check_paper
        self.idle_poll = idle_poll
        self._sleep = sleep or queue.wait_for_work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: What the paper sensor said last time; for the device status.
        self.paper_status: PaperStatus = PaperStatus.UNKNOWN

    def run_once(self) -> PrintJob | None:
        """Try the head job if it is due; return its new snapshot, or None if idle."""
        claimed = self.queue.claim_next()
        if claimed is None:
            return None
        job, payload = claimed
        try:
            self._print(payload)
        except Exception as exc:
            if not isinstance(exc, DeviceError):
                log.exception("unexpected error printing job %s; will retry", job.id)
            error = f"{type(exc).__name__}: {exc}"
            return self.queue.mark_failed(job.id, error, self.retry.delay(job.attempts))
        return self.queue.mark_printed(job.id)

    def _print(self, payload: bytes) -> None:
        if self.check_paper:
            self.paper_status = self.transport.paper_status()
            if self.paper_status is PaperStatus.OUT:
                raise PaperOut(
                    f"printer {self.transport.address} reports no paper; load a new roll "
                    "and the job prints by itself"
                )
        self.transport.send(payload)

    def run(self) -> None:
        """Print until ``stop()``; waits between attempts instead of spinning."""
        while not self._stop.is_set():
            if self.run_once() is not None:
                continue  # printed or failed: look at the (new) head straight away
            due = self.queue.seconds_until_due()
            self._sleep(self.idle_poll if due is None else min(due, self.idle_poll))

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, name=f"print-worker {self.transport.address}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
