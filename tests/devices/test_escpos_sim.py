"""The network printer simulator: real sockets, what it decodes, how it fails."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devices.printer import (
    AmountLine,
    Barcode,
    Label,
    QrCode,
    Receipt,
    ReceiptLine,
    render_label_tspl,
    render_receipt,
)
from devices.printer.escpos_decode import DrawerKick, EscPosDecoder, PrintedBarcode
from devices.simulators.escpos_sim import EscPosSimulator

SALE = Receipt(
    store_name="鲜果超市 人民路店",
    header_lines=("单号: S001-000123",),
    lines=(
        ReceiptLine("可口可乐 500ml", 2, 300, 600),
        ReceiptLine("红富士苹果", 1, 634, 634),
    ),
    totals=(AmountLine("合计", 1234, bold=True),),
    payments=(AmountLine("微信支付", 1234),),
    footer_lines=("谢谢惠顾，欢迎再来！",),
    barcode=Barcode("S001-000123"),
    qr=QrCode("https://shop.example.cn/r/S001-000123?积分=12"),
    open_drawer=True,
)


@pytest.fixture
def printer() -> Iterator[EscPosSimulator]:
    with EscPosSimulator() as sim:
        yield sim


def print_over_network(sim: EscPosSimulator, data: bytes) -> None:
    with socket.create_connection(sim.address, timeout=5) as sock:
        sock.sendall(data + b"\x10\x04\x04")  # the status answer proves all was read
        assert sock.recv(1)


def test_chinese_receipt_sent_over_tcp_reads_back_as_the_same_text(
    printer: EscPosSimulator,
) -> None:
    print_over_network(printer, render_receipt(SALE))

    [receipt] = printer.documents
    text = receipt.text()
    assert "鲜果超市 人民路店" in text
    assert "可口可乐 500ml" in text and "红富士苹果" in text
    assert "￥6.00" in text
    assert "合计" in text and "￥12.34" in text
    assert "谢谢惠顾，欢迎再来！" in text


def test_barcode_and_qr_payload_read_back(printer: EscPosSimulator) -> None:
    print_over_network(printer, render_receipt(SALE))

    [receipt] = printer.documents
    assert receipt.barcodes == [PrintedBarcode("CODE128", "S001-000123")]
    assert [q.payload for q in receipt.qr_codes] == [
        "https://shop.example.cn/r/S001-000123?积分=12"
    ]


def test_ean13_barcode_reads_back_with_its_check_digit(printer: EscPosSimulator) -> None:
    sale = Receipt("鲜果超市", lines=(), barcode=Barcode("690123456789", "EAN13"))
    print_over_network(printer, render_receipt(sale))

    assert printer.documents[0].barcodes == [PrintedBarcode("EAN13", "6901234567892")]


def test_drawer_kick_and_partial_cut_are_seen(printer: EscPosSimulator) -> None:
    print_over_network(printer, render_receipt(SALE))

    [receipt] = printer.documents
    assert receipt.drawer_kicks == [DrawerKick(pin=0, on_ms=50, off_ms=500)]
    assert receipt.cut == "partial"


def test_documents_are_split_at_each_cut(printer: EscPosSimulator) -> None:
    second = Receipt("鲜果超市", lines=(ReceiptLine("香蕉", 1, 500, 500),))
    print_over_network(printer, render_receipt(SALE) + render_receipt(second))

    assert len(printer.documents) == 2
    assert "香蕉" in printer.documents[1].text()
    assert "香蕉" not in printer.documents[0].text()


def test_a_job_without_a_cut_stays_on_the_paper_as_the_current_document(
    printer: EscPosSimulator,
) -> None:
    sale = Receipt("鲜果超市", lines=(ReceiptLine("香蕉", 1, 500, 500),), cut=False)
    print_over_network(printer, render_receipt(sale))

    assert printer.documents == []
    assert "香蕉" in printer.current.text()


def test_paper_status_query_is_answered_paper_ok_then_paper_out(
    printer: EscPosSimulator,
) -> None:
    with socket.create_connection(printer.address, timeout=5) as sock:
        sock.sendall(b"\x10\x04\x04")
        assert sock.recv(1) == b"\x12"
        printer.paper_out = True
        sock.sendall(b"\x10\x04\x04")
        assert sock.recv(1) == b"\x72"


def test_a_stopped_simulator_refuses_connections_and_comes_back_on_the_same_port(
    printer: EscPosSimulator,
) -> None:
    port = printer.port
    printer.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

    printer.start()
    assert printer.port == port
    print_over_network(printer, render_receipt(SALE))
    assert len(printer.documents) == 1


def test_power_cycle_keeps_what_was_printed_before(printer: EscPosSimulator) -> None:
    print_over_network(printer, render_receipt(SALE))
    printer.stop()
    printer.start()

    assert len(printer.documents) == 1


def test_decoder_reads_a_job_delivered_one_byte_at_a_time() -> None:
    decoder = EscPosDecoder()
    for byte in render_receipt(SALE):
        decoder.feed(bytes([byte]))

    assert decoder.unknown == []
    [receipt] = decoder.documents
    assert "可口可乐 500ml" in receipt.text()
    assert receipt.qr_codes[0].payload.endswith("积分=12")


def test_label_printer_in_tspl_mode_decodes_a_label() -> None:
    label = Label("可乐 500ml", ("价格: ￥3.00",), Barcode("S-001"), QrCode("https://x.cn/1"))
    with EscPosSimulator(language="tspl") as sim:
        with socket.create_connection(sim.address, timeout=5) as sock:
            sock.sendall(render_label_tspl(label))
        [printed] = sim.wait_for_labels(1)

    assert printed.texts == ["可乐 500ml", "价格: ￥3.00"]
    assert printed.barcodes == [PrintedBarcode("CODE128", "S-001")]
    assert printed.qr_codes == ["https://x.cn/1"]
