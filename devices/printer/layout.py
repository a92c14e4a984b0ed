"""Lay a document out as printer-independent blocks: styled text lines, codes.

Everything about columns lives here, so it can be checked as plain strings; the ESC/POS
renderer only turns blocks into bytes. Text is made ``printable`` for the profile
first, so the widths we compute are the widths that print.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.printer.document import AmountLine, Barcode, Label, QrCode, Receipt, ReceiptLine
from devices.printer.escpos_commands import Align
from devices.printer.profile import PrinterProfile
from devices.printer.text import (
    display_width,
    format_money,
    format_qty,
    pad_left,
    pad_right,
    printable,
    spread,
    wrap,
)

ITEM_HEADINGS = ("品名", "数量", "单价", "金额")


@dataclass(frozen=True)
class TextBlock:
    text: str
    align: Align = "left"
    bold: bool = False
    size: int = 1  # 2 = double width and double height


@dataclass(frozen=True)
class BarcodeBlock:
    barcode: Barcode


@dataclass(frozen=True)
class QrBlock:
    qr: QrCode


Block = TextBlock | BarcodeBlock | QrBlock


@dataclass(frozen=True)
class ItemColumns:
    """Widths of the numeric columns; the name column takes the rest of the line."""

    qty: int
    unit_price: int
    amount: int

    @classmethod
    def for_width(cls, columns: int) -> ItemColumns:
        # 80 mm fits "￥9999.99" in both money columns; 58 mm keeps 4 CJK chars of name.
        return cls(6, 10, 10) if columns >= 42 else cls(5, 9, 9)


def _numbers(qty: str, price: str, amount: str, cols: ItemColumns, p: PrinterProfile) -> str:
    enc = p.encoding
    return (
        pad_left(qty, cols.qty, enc)
        + pad_left(price, cols.unit_price, enc)
        + pad_left(amount, cols.amount, enc)
    )


def item_heading(profile: PrinterProfile) -> str:
    cols = ItemColumns.for_width(profile.columns)
    numbers = _numbers(*ITEM_HEADINGS[1:], cols, profile)
    name_width = profile.columns - cols.qty - cols.unit_price - cols.amount
    return pad_right(ITEM_HEADINGS[0], name_width, profile.encoding) + numbers


def item_rows(line: ReceiptLine, profile: PrinterProfile) -> list[str]:
    """One row when the name fits its column; else the name wrapped on its own lines
    and the numbers on the next row, still right-aligned to the same columns."""
    enc, cur = profile.encoding, profile.currency
    cols = ItemColumns.for_width(profile.columns)
    numbers = _numbers(
        format_qty(line.qty),
        format_money(line.unit_price_fen, cur),
        format_money(line.amount_fen, cur),
        cols,
        profile,
    )
    name = printable(line.name, enc)
    # Measured, not summed from ItemColumns: an amount too wide for its column shifts
    # only this row's name column instead of pushing the row past the paper edge.
    name_width = profile.columns - display_width(numbers, enc)
    if display_width(name, enc) <= name_width:
        return [pad_right(name, name_width, enc) + numbers]
    rows = wrap(name, profile.columns, enc)
    rows.append(pad_left(numbers.lstrip(), profile.columns, enc))
    return rows


def amount_row(line: AmountLine, profile: PrinterProfile) -> TextBlock:
    label = printable(line.label, profile.encoding)
    money = format_money(line.amount_fen, profile.currency)
    return TextBlock(spread(label, money, profile.columns, profile.encoding), bold=line.bold)


def _centered(lines: tuple[str, ...], profile: PrinterProfile) -> list[Block]:
    blocks: list[Block] = []
    for raw in lines:
        for part in wrap(printable(raw, profile.encoding), profile.columns, profile.encoding):
            blocks.append(TextBlock(part, align="center"))
    return blocks


def _codes(barcode: Barcode | None, qr: QrCode | None) -> list[Block]:
    blocks: list[Block] = []
    if barcode is not None:
        blocks.append(BarcodeBlock(barcode))
    if qr is not None:
        blocks.append(QrBlock(qr))
    return blocks


def receipt_blocks(receipt: Receipt, profile: PrinterProfile) -> list[Block]:
    enc = profile.encoding
    rule = TextBlock("-" * profile.columns)
    blocks: list[Block] = [
        # Double width halves the columns available to the store name.
        TextBlock(part, align="center", bold=True, size=2)
        for part in wrap(printable(receipt.store_name, enc), profile.columns // 2, enc)
    ]
    blocks += _centered(receipt.header_lines, profile)
    blocks += [rule, TextBlock(item_heading(profile))]
    for line in receipt.lines:
        blocks += [TextBlock(row) for row in item_rows(line, profile)]
    blocks.append(rule)
    blocks += [amount_row(t, profile) for t in receipt.totals]
    blocks += [amount_row(p, profile) for p in receipt.payments]
    if receipt.footer_lines:
        blocks += [rule, *_centered(receipt.footer_lines, profile)]
    blocks += _codes(receipt.barcode, receipt.qr)
    return blocks


def label_blocks(label: Label, profile: PrinterProfile) -> list[Block]:
    """A label printed on a receipt printer (price tag, parcel slip)."""
    enc = profile.encoding
    blocks: list[Block] = [
        TextBlock(part, align="center", bold=True, size=2)
        for part in wrap(printable(label.title, enc), profile.columns // 2, enc)
    ]
    for raw in label.lines:
        blocks += [TextBlock(part) for part in wrap(printable(raw, enc), profile.columns, enc)]
    blocks += _codes(label.barcode, label.qr)
    return blocks
