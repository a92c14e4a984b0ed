"""The renderers, read back through the decoder a printer would use (no sockets here)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from escpos.printer import Dummy

from devices.printer import (
    PAPER_58MM,
    PAPER_80MM,
    AmountLine,
    Barcode,
    Label,
    PrinterProfile,
    QrCode,
    Receipt,
    ReceiptLine,
    render_label_tspl,
    render_receipt,
)
from devices.printer.escpos_decode import EscPosDecoder, PrintedDocument
from devices.printer.tspl_decode import TsplDecoder

UTF8 = PrinterProfile(encoding="utf-8")


def receipt(*items: tuple[str, int | Decimal, int], **extra: object) -> Receipt:
    lines = tuple(ReceiptLine(name, qty, price, int(qty * price)) for name, qty, price in items)
    total = sum(line.amount_fen for line in lines)
    return Receipt(
        store_name="鲜果超市",
        lines=lines,
        totals=(AmountLine("合计", total, bold=True),),
        **extra,  # type: ignore[arg-type]
    )


def printed(data: bytes) -> PrintedDocument:
    decoder = EscPosDecoder()
    decoder.feed(data)
    assert decoder.unknown == []
    [document] = decoder.documents
    return document


def line_starting(document: PrintedDocument, label: str) -> str:
    return next(line.text for line in document.lines if line.text.startswith(label))


def width(text: str) -> int:
    """Columns on a Chinese-mode printer: ASCII is half width, everything else full."""
    return sum(1 if ch < "\x80" else 2 for ch in text)


def right_edges(row: str) -> list[int]:
    """The display column where each space-separated field of ``row`` ends."""
    edges, col = [], 0
    for i, ch in enumerate(row):
        col += width(ch)
        if ch != " " and (i + 1 == len(row) or row[i + 1] == " "):
            edges.append(col)
    return edges


def test_gb18030_profile_switches_to_chinese_mode_before_sending_gb18030_text() -> None:
    data = render_receipt(receipt(("可口可乐", 1, 300)), PAPER_80MM)

    assert data.index(b"\x1c&") < data.index("可口可乐".encode("gb18030"))
    assert "可口可乐".encode() not in data


def test_utf8_profile_selects_utf8_and_never_enters_chinese_mode() -> None:
    data = render_receipt(receipt(("可口可乐", 1, 300)), UTF8)

    assert b"\x1c&" not in data
    assert b"\x1c(C\x02\x00\x30\x02" in data
    assert "可口可乐".encode() in data
    assert "可口可乐".encode("gb18030") not in data


def test_gbk_profile_prints_a_character_outside_gbk_as_a_question_mark() -> None:
    data = render_receipt(receipt(("𠮷野家 牛肉饭", 1, 2500)), PrinterProfile(encoding="gbk"))

    assert "?野家 牛肉饭" in printed(data).text()


def test_gb18030_profile_prints_a_four_byte_gb18030_character() -> None:
    data = render_receipt(receipt(("𠮷野家 牛肉饭", 1, 2500)), PAPER_80MM)

    assert "𠮷野家 牛肉饭" in printed(data).text()


def test_money_prints_as_fullwidth_yuan_on_chinese_printers_and_yen_sign_on_utf8() -> None:
    sale = receipt(("苹果", 1, 1234))

    assert line_starting(printed(render_receipt(sale, PAPER_80MM)), "合计").endswith(" ￥12.34")
    assert line_starting(printed(render_receipt(sale, UTF8)), "合计").endswith(" ¥12.34")


def test_negative_amounts_print_with_a_leading_minus() -> None:
    sale = receipt(("苹果", 1, 1234), payments=(AmountLine("找零", -766),))

    assert line_starting(printed(render_receipt(sale, PAPER_80MM)), "找零").endswith(" -￥7.66")


@pytest.mark.parametrize("profile", [PAPER_80MM, PAPER_58MM], ids=["80mm", "58mm"])
def test_item_columns_line_up_under_the_heading_whatever_mix_of_cjk_and_ascii(
    profile: PrinterProfile,
) -> None:
    sale = receipt(("可乐", 2, 300), ("Milk", 1, 634), ("面包", 12, 1050), ("茶 tea", 3, 99))
    lines = [line.text for line in printed(render_receipt(sale, profile)).lines]
    heading = next(i for i, text in enumerate(lines) if text.startswith("品名"))
    rows = lines[heading + 1 : heading + 5]

    for row in rows:
        assert width(row) == profile.columns
        assert right_edges(row)[-3:] == right_edges(lines[heading])[-3:]


def test_long_item_name_wraps_and_its_numbers_stay_in_their_columns() -> None:
    sale = receipt(("进口车厘子(智利) JJ级 特大果 礼盒装", Decimal("1.5"), 9990))
    lines = [line.text for line in printed(render_receipt(sale, PAPER_58MM)).lines]
    heading = next(i for i, text in enumerate(lines) if text.startswith("品名"))

    assert all(width(text) <= 32 for text in lines)
    assert "".join(lines[heading + 1 : heading + 3]) == "进口车厘子(智利) JJ级 特大果 礼盒装"
    assert right_edges(lines[heading + 3])[-3:] == right_edges(lines[heading])[-3:]


def test_store_name_prints_bold_double_size_and_centred() -> None:
    [name] = [
        line
        for line in printed(render_receipt(receipt(("可乐", 1, 300)))).lines
        if line.text == "鲜果超市"
    ]

    assert (name.bold, name.width, name.height, name.align) == (True, 2, 2, "center")


def test_control_characters_in_an_item_name_cannot_open_the_drawer() -> None:
    sale = receipt(("可乐\x1bp\x00\x19\xfa", 1, 300), open_drawer=False)

    assert printed(render_receipt(sale)).drawer_kicks == []


def test_drawer_kick_is_esc_p_0_25_250() -> None:
    data = render_receipt(receipt(("可乐", 1, 300), open_drawer=True))

    assert b"\x1bp\x00\x19\xfa" in data


def test_receipt_ends_with_a_partial_cut_or_a_full_cut_per_profile() -> None:
    sale = receipt(("可乐", 1, 300))

    assert render_receipt(sale, PAPER_80MM).endswith(b"\x1dV\x01")
    assert render_receipt(sale, PrinterProfile(cut_mode="full")).endswith(b"\x1dV\x00")


def test_barcode_and_qr_bytes_are_the_native_commands_python_escpos_would_send() -> None:
    sale = receipt(
        ("可乐", 1, 300),
        barcode=Barcode("6901234567892", "EAN13", height_dots=64, module_width=3),
        qr=QrCode("https://shop.example.cn/r/1", size=3, error_level="L"),
    )
    reference = Dummy()
    reference.barcode("6901234567892", "EAN13", height=64, width=3, function_type="B")
    barcode_cmd = reference.output.split(b"\x1dH\x02")[1]
    reference = Dummy()
    reference.qr("https://shop.example.cn/r/1", size=3, native=True)

    data = render_receipt(sale)
    assert barcode_cmd in data
    assert reference.output in data


def test_ean13_with_a_wrong_check_digit_is_refused_before_it_reaches_a_printer() -> None:
    with pytest.raises(ValueError, match="check digit"):
        Barcode("6901234567890", "EAN13")


def test_ean13_given_twelve_digits_gets_its_check_digit() -> None:
    assert Barcode("690123456789", "EAN13").data == "6901234567892"


def test_tspl_label_uses_the_chinese_font_and_gb18030() -> None:
    label = Label("可乐 500ml", ("价格: ￥3.00",), Barcode("690123456789", "EAN13"))
    data = render_label_tspl(label)

    assert 'TEXT 16,16,"TSS24.BF2",0,2,2,"可乐 500ml"'.encode("gb18030") in data
    assert data.endswith(b"PRINT 1\r\n")


def test_tspl_label_reads_back_text_barcode_and_qr() -> None:
    label = Label(
        '可乐 "零度"',
        ("价格: ￥3.00", "产地: 上海"),
        Barcode("690123456789", "EAN13"),
        QrCode("https://shop.example.cn/p/6901234567892"),
    )
    decoder = TsplDecoder()
    decoder.feed(render_label_tspl(label))

    [printed_label] = decoder.labels
    assert decoder.unknown == []
    assert printed_label.texts == ['可乐 "零度"', "价格: ￥3.00", "产地: 上海"]
    assert [b.data for b in printed_label.barcodes] == ["6901234567892"]
    assert printed_label.qr_codes == ["https://shop.example.cn/p/6901234567892"]
    assert (printed_label.width_mm, printed_label.height_mm) == (40, 30)


def test_text_sent_the_python_escpos_way_without_chinese_mode_prints_garbage() -> None:
    """Why we encode ourselves (DESIGN §9): python-escpos never sends FS &."""
    printer = Dummy()
    printer.text("可口可乐\n")
    printer.cut()

    assert "可口可乐" not in printed(printer.output).text()
