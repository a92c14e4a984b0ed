"""Transports against the simulator on real sockets (USB is not testable here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.errors import DeviceUnavailable, ProtocolError
from devices.printer import (
    NetworkTransport,
    PaperStatus,
    Receipt,
    ReceiptLine,
    SerialTransport,
    render_receipt,
)
from devices.printer.transport import parse_paper_status
from devices.simulators.escpos_sim import EscPosSimulator

JOB = render_receipt(Receipt("鲜果超市", lines=(ReceiptLine("可乐", 1, 300, 300),)))


@pytest.fixture
def printer() -> Iterator[EscPosSimulator]:
    with EscPosSimulator() as sim:
        yield sim


def network(sim: EscPosSimulator) -> NetworkTransport:
    return NetworkTransport(*sim.address, connect_timeout=1, io_timeout=5, status_timeout=1)


def test_network_printer_with_paper_reports_ok(printer: EscPosSimulator) -> None:
    assert network(printer).paper_status() is PaperStatus.OK


def test_network_printer_with_an_empty_roll_reports_out(printer: EscPosSimulator) -> None:
    printer.paper_out = True

    assert network(printer).paper_status() is PaperStatus.OUT


def test_network_printer_near_the_end_of_its_roll_reports_near_end(
    printer: EscPosSimulator,
) -> None:
    printer.paper_near_end = True

    assert network(printer).paper_status() is PaperStatus.NEAR_END


def test_send_returns_once_the_printer_has_received_the_whole_job(
    printer: EscPosSimulator,
) -> None:
    transport = network(printer)
    transport.paper_status()  # the printer answers status, so delivery gets confirmed

    transport.send(JOB)

    assert len(printer.documents) == 1  # no waiting: send already had the confirmation


def test_printer_that_never_answers_status_reports_unknown_and_still_prints() -> None:
    with EscPosSimulator(answers_status=False) as sim:
        transport = NetworkTransport(*sim.address, connect_timeout=1, status_timeout=0.2)

        assert transport.paper_status() is PaperStatus.UNKNOWN
        transport.send(JOB)
        assert len(sim.wait_for_documents(1)) == 1


def test_switched_off_network_printer_raises_device_unavailable_with_its_address(
    printer: EscPosSimulator,
) -> None:
    printer.stop()

    with pytest.raises(DeviceUnavailable, match=f"tcp://127.0.0.1:{printer.port}"):
        network(printer).paper_status()


def test_serial_transport_prints_and_reads_status_through_a_pyserial_url(
    printer: EscPosSimulator,
) -> None:
    # socket:// runs the SerialTransport code (pyserial port, write, flush, read) over TCP.
    transport = SerialTransport(f"socket://127.0.0.1:{printer.port}", status_timeout=1)

    assert transport.paper_status() is PaperStatus.OK
    transport.send(JOB)
    assert "可乐" in printer.documents[0].text()


def test_serial_port_that_does_not_exist_raises_device_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="/dev/ttyNOPRINTER"):
        SerialTransport("/dev/ttyNOPRINTER").send(JOB)


def test_a_status_byte_that_is_not_a_dle_eot_answer_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_paper_status(0x41)
