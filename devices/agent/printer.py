"""The printer adapter: a durable queue and its worker, driven by the runner's thread.

Jobs come in as ``print`` commands (plain JSON documents, see ``documents``), are
rendered for this printer (ESC/POS or TSPL, its encoding and paper) and written to the
printer's SQLite queue before the command is answered, so an accepted job survives an
agent restart. Each ``poll`` tries the head job once it is due (``PrintWorker.run_once``;
retries back off per ``retry_first_s``/``retry_max_s``) and otherwise, every
``probe_interval_s``, asks an idle printer for its paper status so the status page shows
a switched-off printer before the next receipt needs it.

State in the published status:
    online   the printer took the last job or answered the last probe
    offline  it cannot be reached (the detail says why); jobs wait
    error    it is reachable but reports no paper; jobs wait
"jobs" lists every job not printed yet (id, description, state, attempts, last_error).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from devices.agent.adapters import Clock, Output, unsupported
from devices.agent.commands import Command, InvalidCommand
from devices.agent.config import PrinterConfig
from devices.agent.documents import label_from_json, receipt_from_json
from devices.errors import DeviceError, DeviceUnavailable
from devices.events import CommandResult, DeviceState, DeviceStatus, PrintJobStatus, utc_now
from devices.printer import (
    PAPER_58MM,
    PAPER_80MM,
    NetworkTransport,
    PaperStatus,
    PrinterProfile,
    PrinterTransport,
    PrintJob,
    PrintQueue,
    PrintWorker,
    RetryPolicy,
    SerialTransport,
    UsbTransport,
    render_label,
    render_label_tspl,
    render_receipt,
)
from devices.printer.escpos_commands import ESC

#: ESC B n t: sound the buzzer n times for t x 50 ms (Xprinter, GPrinter, many others).
ESCPOS_BEEP = ESC + b"B" + bytes([1, 3])
TSPL_BEEP = b"SOUND 5,200\r\n"


def make_transport(config: PrinterConfig) -> PrinterTransport:
    if config.driver == "network":
        return NetworkTransport(config.host, config.port)
    if config.driver == "serial":
        return SerialTransport(config.path, config.baudrate)
    return UsbTransport(config.vendor_id, config.product_id)


def make_profile(config: PrinterConfig) -> PrinterProfile:
    paper = PAPER_58MM if config.paper == "58mm" else PAPER_80MM
    return replace(paper, encoding=config.encoding)


def _job_json(job: PrintJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "description": job.description,
        "state": job.state,
        "attempts": job.attempts,
        "last_error": job.last_error,
    }


class PrinterAdapter:
    kind = "printer"
    commands: tuple[str, ...] = ("print", "cancel", "beep")

    def __init__(
        self,
        config: PrinterConfig,
        spool_dir: Path,
        clock: Clock = utc_now,
        *,
        transport: PrinterTransport | None = None,
    ) -> None:
        self.config = config
        self.device_id = config.id
        self.spool_path = spool_dir / f"printer-{config.id}.sqlite3"
        self.profile = make_profile(config)
        self.transport = transport or make_transport(config)
        self._clock = clock
        self.queue: PrintQueue | None = None
        self.worker: PrintWorker | None = None
        self._state: DeviceState = "offline"
        self._detail = "not probed yet"
        self._next_probe = 0.0

    # -- lifecycle ---------------------------------------------------------------------

    def describe(self) -> tuple[str, str]:
        model = self.config.model or (
            "TSPL label printer" if self.config.language == "tspl" else "ESC/POS printer"
        )
        return model, self.config.address

    def _status(self) -> DeviceStatus:
        model, port = self.describe()
        return DeviceStatus(self.device_id, self._state, model, port, self._detail, self._clock())

    def open(self) -> DeviceStatus:
        """Open the spool; the printer itself is reached per job, so this never waits on it."""
        if self.queue is None:
            try:
                self.queue = PrintQueue(self.spool_path)
            except Exception as exc:  # sqlite3 / OSError: the spool directory is unusable
                raise DeviceUnavailable(
                    f"cannot open print spool {self.spool_path}: {exc}"
                ) from exc
            retry = RetryPolicy(
                first_delay=self.config.retry_first_s, max_delay=self.config.retry_max_s
            )
            self.worker = PrintWorker(
                self.queue, self.transport, retry=retry, check_paper=self.config.check_paper
            )
        self._next_probe = 0.0
        self._probe()
        return self._status()

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
        self.queue = self.worker = None

    # -- the runner's poll ---------------------------------------------------------------

    def poll(self, timeout: float) -> list[Output]:
        queue, worker = self.queue, self.worker
        if queue is None or worker is None:
            raise DeviceUnavailable(f"print spool of {self.device_id} is not open")
        before = (self._state, self._detail)
        out: list[Output] = []
        job = worker.run_once()
        if job is not None:
            out.append(self._job_event(job))
            if job.state == "printed":
                self._set("online", self._paper_detail(worker.paper_status))
            elif worker.paper_status is PaperStatus.OUT:
                self._set("error", job.last_error or "no paper")
            else:
                self._set("offline", job.last_error or "printer unreachable")
            self._next_probe = time.monotonic() + self.config.probe_interval_s
        else:
            due = queue.seconds_until_due()
            probing = due is None and self.config.probe_interval_s > 0
            if probing and time.monotonic() >= self._next_probe:
                self._probe()
            wait = timeout if due is None else min(timeout, due)
            if wait > 0:
                queue.wait_for_work(wait)
        if (self._state, self._detail) != before:
            out.append(self._status())
        return out

    def _paper_detail(self, paper: PaperStatus) -> str:
        return "paper near its end" if paper is PaperStatus.NEAR_END else ""

    def _probe(self) -> None:
        self._next_probe = time.monotonic() + self.config.probe_interval_s
        try:
            paper = self.transport.paper_status()
        except DeviceError as exc:
            self._set("offline", str(exc))
            return
        except Exception as exc:  # a driver bug must not stop the agent; show it
            self._set("error", f"{type(exc).__name__}: {exc}")
            return
        if paper is PaperStatus.OUT:
            self._set("error", "no paper: load a new roll; waiting jobs then print")
        else:
            self._set("online", self._paper_detail(paper))

    def _set(self, state: DeviceState, detail: str) -> None:
        self._state, self._detail = state, detail

    def _job_event(self, job: PrintJob) -> PrintJobStatus:
        return PrintJobStatus(
            self.device_id,
            job.id,
            job.state,
            job.description,
            job.attempts,
            job.last_error,
            self._clock(),
        )

    def status_extra(self) -> dict[str, Any]:
        if self.queue is None:
            return {}
        jobs = [_job_json(job) for job in self.queue.pending()]
        return {"jobs": jobs, "jobs_waiting": len(jobs)}

    def resync(self) -> None:
        pass  # the status (with its job list) is republished by the runner

    # -- commands ----------------------------------------------------------------------

    def handle(self, command: Command) -> CommandResult:
        if command.name == "print":
            return self._print(command)
        if command.name == "cancel":
            return self._cancel(command)
        if command.name == "beep":
            return self._beep(command)
        raise unsupported(self.device_id, command, "printer")

    def _render(self, body: dict[str, Any]) -> tuple[bytes, str]:
        if "receipt" in body:
            if self.config.language == "tspl":
                raise InvalidCommand(f"{self.device_id} is a TSPL label printer: send a label")
            receipt = receipt_from_json(body["receipt"])
            return render_receipt(receipt, self.profile), f"receipt {receipt.store_name}"
        if "label" in body:
            label = label_from_json(body["label"])
            if self.config.language == "tspl":
                return render_label_tspl(label), f"label {label.title}"
            return render_label(label, self.profile), f"label {label.title}"
        raise InvalidCommand('a print command needs "receipt" or "label"')

    def _print(self, command: Command) -> CommandResult:
        queue = self.queue
        if queue is None:
            raise DeviceUnavailable(f"print spool of {self.device_id} is not open")
        body = command.body
        key = body.get("key")
        if key is not None and not isinstance(key, str):
            raise InvalidCommand('"key" must be a string')
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidCommand('"description" must be a string')
        data, default_description = self._render(body)
        job_id = queue.enqueue(data, description or default_description, key=key)
        job = queue.get(job_id)
        return CommandResult(
            self.device_id,
            "print",
            command.request_id,
            True,
            f"queued as job {job_id}"
            if job is None or job.state != "printed"
            else f"job {job_id} already printed",
            job_id=job_id,
            ts=self._clock(),
        )

    def _cancel(self, command: Command) -> CommandResult:
        queue = self.queue
        if queue is None:
            raise DeviceUnavailable(f"print spool of {self.device_id} is not open")
        job_id = command.body.get("job_id")
        reason = command.body.get("reason") or "cancelled by command"
        if not isinstance(job_id, int) or isinstance(job_id, bool) or not isinstance(reason, str):
            raise InvalidCommand('cancel needs "job_id" (a number) and an optional "reason"')
        if not queue.cancel(job_id, reason):
            raise InvalidCommand(f"job {job_id} is not waiting (printed, cancelled or unknown)")
        return CommandResult(
            self.device_id,
            "cancel",
            command.request_id,
            True,
            f"job {job_id} cancelled",
            job_id=job_id,
            ts=self._clock(),
        )

    def _beep(self, command: Command) -> CommandResult:
        if not self.config.buzzer:
            raise InvalidCommand(
                f"{self.device_id} has no buzzer configured (set buzzer = true if it has one)"
            )
        # Straight to the printer, not through the queue: a beep is only useful now.
        self.transport.send(TSPL_BEEP if self.config.language == "tspl" else ESCPOS_BEEP)
        return CommandResult(
            self.device_id, "beep", command.request_id, True, "beeped", ts=self._clock()
        )
