"""The durable print queue and its worker, against the simulator on a real socket.

Time is a fake clock: the worker is stepped with ``run_once`` and the clock advanced past
the backoff, so no test sleeps through a retry delay.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.printer import (
    NetworkTransport,
    PaperStatus,
    PrintQueue,
    PrintWorker,
    Receipt,
    ReceiptLine,
    RetryPolicy,
    render_receipt,
)
from devices.printer.queue import INTERRUPTED
from devices.simulators.escpos_sim import EscPosSimulator

RETRY = RetryPolicy(first_delay=2.0, factor=2.0, max_delay=30.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sale(item: str) -> bytes:
    return render_receipt(Receipt("鲜果超市", lines=(ReceiptLine(item, 1, 300, 300),)))


@pytest.fixture
def printer() -> Iterator[EscPosSimulator]:
    with EscPosSimulator() as sim:
        yield sim


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[PrintQueue]:
    q = PrintQueue(tmp_path / "printer-lane1.sqlite3", clock=clock)
    yield q
    q.close()


@pytest.fixture
def worker(queue: PrintQueue, printer: EscPosSimulator) -> PrintWorker:
    transport = NetworkTransport(*printer.address, connect_timeout=1, status_timeout=1)
    return PrintWorker(queue, transport, retry=RETRY)


def printed_items(sim: EscPosSimulator) -> list[str]:
    return [line.text for doc in sim.documents for line in doc.lines if "￥" in line.text]


def test_a_queued_receipt_is_printed_and_leaves_pending(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator
) -> None:
    queue.enqueue(sale("可乐"), "小票 1")

    assert worker.run_once() is not None
    assert queue.pending() == []
    assert "可乐" in printer.documents[0].text()


def test_with_the_printer_off_the_job_waits_in_pending_with_its_error(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator
) -> None:
    printer.stop()
    job_id = queue.enqueue(sale("可乐"), "小票 1")

    worker.run_once()

    [job] = queue.pending()
    assert (job.id, job.state, job.attempts) == (job_id, "retrying", 1)
    assert job.last_error is not None and "DeviceUnavailable" in job.last_error


def test_a_job_that_waited_for_the_printer_prints_exactly_once_when_it_is_back(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator, clock: FakeClock
) -> None:
    printer.stop()
    queue.enqueue(sale("可乐"), "小票 1")
    worker.run_once()
    printer.start()

    assert worker.run_once() is None  # still inside its backoff
    clock.advance(RETRY.first_delay)
    assert worker.run_once() is not None
    clock.advance(3600)
    assert worker.run_once() is None

    assert len(printer.documents) == 1
    assert queue.pending() == []


def test_out_of_paper_keeps_the_job_queued_and_sends_nothing(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator
) -> None:
    printer.paper_out = True
    queue.enqueue(sale("可乐"), "小票 1")

    worker.run_once()

    [job] = queue.pending()
    assert job.last_error is not None and "no paper" in job.last_error
    assert worker.paper_status is PaperStatus.OUT
    assert printer.documents == []


def test_the_job_prints_once_paper_is_loaded(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator, clock: FakeClock
) -> None:
    printer.paper_out = True
    queue.enqueue(sale("可乐"), "小票 1")
    worker.run_once()

    printer.paper_out = False
    clock.advance(RETRY.first_delay)
    worker.run_once()

    assert len(printer.documents) == 1
    assert queue.pending() == []


def test_retries_back_off_and_the_delay_is_capped() -> None:
    assert [RETRY.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]


def test_jobs_print_in_the_order_they_were_queued_even_after_a_failure(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator, clock: FakeClock
) -> None:
    printer.stop()
    for item in ("一号", "二号", "三号"):
        queue.enqueue(sale(item), item)
    worker.run_once()
    printer.start()
    clock.advance(RETRY.first_delay)

    while worker.run_once() is not None:
        pass

    assert [text.split()[0] for text in printed_items(printer)] == ["一号", "二号", "三号"]


def test_a_queued_job_survives_a_restart_of_the_queue(
    tmp_path: Path, clock: FakeClock, printer: EscPosSimulator
) -> None:
    path = tmp_path / "printer-lane1.sqlite3"
    before = PrintQueue(path, clock=clock)
    before.enqueue(sale("可乐"), "小票 1")
    before.close()

    after = PrintQueue(path, clock=clock)
    [job] = after.pending()
    PrintWorker(after, NetworkTransport(*printer.address)).run_once()
    after.close()

    assert job.description == "小票 1"
    assert "可乐" in printer.documents[0].text()


def test_a_job_cut_off_mid_print_by_a_crash_is_sent_again_after_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "printer-lane1.sqlite3"
    crashed = PrintQueue(path, clock=clock)
    crashed.enqueue(sale("可乐"), "小票 1")
    assert crashed.claim_next() is not None  # the process dies while sending
    crashed.close()

    [job] = PrintQueue(path, clock=clock).pending()

    assert (job.state, job.last_error, job.attempts) == ("retrying", INTERRUPTED, 1)


def test_enqueueing_the_same_receipt_key_twice_prints_it_once(
    queue: PrintQueue, worker: PrintWorker, printer: EscPosSimulator
) -> None:
    first = queue.enqueue(sale("可乐"), "小票 1", key="receipt:S001-000123")
    again = queue.enqueue(sale("可乐"), "小票 1", key="receipt:S001-000123")

    worker.run_once()
    worker.run_once()

    assert first == again
    assert len(printer.documents) == 1


def test_a_cancelled_job_leaves_pending_and_keeps_its_reason(queue: PrintQueue) -> None:
    job_id = queue.enqueue(sale("可乐"), "小票 1")

    assert queue.cancel(job_id, "顾客不要小票")

    job = queue.get(job_id)
    assert queue.pending() == []
    assert job is not None and job.state == "cancelled"
    assert job.last_error == "cancelled: 顾客不要小票"


class BrokenTransport:
    address = "broken://"

    def paper_status(self) -> PaperStatus:
        return PaperStatus.OK

    def send(self, data: bytes) -> None:
        raise RuntimeError("bug in a transport")


def test_an_unexpected_error_is_recorded_on_the_job_and_the_job_kept(
    queue: PrintQueue,
) -> None:
    queue.enqueue(sale("可乐"), "小票 1")

    PrintWorker(queue, BrokenTransport()).run_once()

    [job] = queue.pending()
    assert job.last_error == "RuntimeError: bug in a transport"


def test_background_worker_prints_a_job_enqueued_while_it_runs(
    tmp_path: Path, printer: EscPosSimulator
) -> None:
    queue = PrintQueue(tmp_path / "printer-lane1.sqlite3")
    worker = PrintWorker(queue, NetworkTransport(*printer.address), idle_poll=0.5)
    worker.start()
    try:
        queue.enqueue(sale("可乐"), "小票 1")
        documents = printer.wait_for_documents(1)
    finally:
        worker.stop()
        queue.close()

    assert len(documents) == 1


def test_empty_print_job_is_refused(queue: PrintQueue) -> None:
    with pytest.raises(ValueError):
        queue.enqueue(b"", "nothing")
