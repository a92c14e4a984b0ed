"""What to print, independent of any printer language.

Plain frozen dataclasses: the POS builds a ``Receipt`` or a ``Label`` from values and hands
it to a renderer (``render_escpos`` or ``render_tspl``). Money is integer fen everywhere;
it becomes ``¥12.34`` text only when a renderer lays the document out, because the
currency glyph that prints correctly depends on the printer's encoding (see
``profile.PrinterProfile.currency_symbol``).

Validation that would otherwise fail on the printer (a bad EAN-13 check digit, non-ASCII
in CODE128) happens here, at construction, as ``ValueError``: it is a programming or data
error, not a device fault, and should surface before a job is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Symbology = Literal["CODE128", "EAN13"]
QrErrorLevel = Literal["L", "M", "Q", "H"]


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit for 12 digits (weights 1,3,1,3… from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Barcode:
    """A 1D barcode printed by the printer itself (ESC/POS ``GS k``, TSPL ``BARCODE``).

    EAN-13 accepts 12 digits (the check digit is added) or 13 digits (the check digit is
    verified); ``data`` always holds the full 13 digits afterwards.
    """

    data: str
    symbology: Symbology = "CODE128"
    height_dots: int = 80
    module_width: int = 2
    show_text: bool = True

    def __post_init__(self) -> None:
        if self.symbology == "EAN13":
            if not (self.data.isascii() and self.data.isdigit() and len(self.data) in (12, 13)):
                raise ValueError(f"EAN-13 needs 12 or 13 digits, got {self.data!r}")
            check = ean13_check_digit(self.data[:12])
            if len(self.data) == 12:
                object.__setattr__(self, "data", self.data + check)
            elif self.data[12] != check:
                raise ValueError(f"EAN-13 {self.data!r} has a wrong check digit (want {check})")
        elif self.symbology == "CODE128":
            # Printable ASCII only: code set B is what every ESC/POS and TSPL printer takes.
            if not self.data or not all(" " <= c <= "~" for c in self.data):
                raise ValueError(f"CODE128 needs printable ASCII, got {self.data!r}")
            if len(self.data) > 250:
                raise ValueError("CODE128 data longer than 250 characters")
        else:
            raise ValueError(f"unsupported symbology {self.symbology!r}")
        if not 1 <= self.height_dots <= 255:
            raise ValueError("barcode height must be 1..255 dots")
        if not 2 <= self.module_width <= 6:
            raise ValueError("barcode module width must be 2..6")


@dataclass(frozen=True)
class QrCode:
    """A QR code (model 2) printed natively; the payload is sent as UTF-8."""

    payload: str
    size: int = 6  # module size in dots, 1..16
    error_level: QrErrorLevel = "M"

    def __post_init__(self) -> None:
        if not self.payload:
            raise ValueError("QR payload is empty")
        if not 1 <= self.size <= 16:
            raise ValueError("QR module size must be 1..16")
        if len(self.payload.encode("utf-8")) > 7000:
            raise ValueError("QR payload too long for a model 2 symbol")


@dataclass(frozen=True)
class ReceiptLine:
    """One sold item. ``qty`` is an int for pieces or a Decimal for weighed goods."""

    name: str
    qty: int | Decimal
    unit_price_fen: int
    amount_fen: int


@dataclass(frozen=True)
class AmountLine:
    """A label with a money amount: totals (合计, 优惠) and payments (微信支付, 找零)."""

    label: str
    amount_fen: int
    bold: bool = False


@dataclass(frozen=True)
class Receipt:
    store_name: str
    lines: tuple[ReceiptLine, ...]
    totals: tuple[AmountLine, ...] = ()
    payments: tuple[AmountLine, ...] = ()
    header_lines: tuple[str, ...] = ()
    footer_lines: tuple[str, ...] = ()
    barcode: Barcode | None = None
    qr: QrCode | None = None
    open_drawer: bool = False
    cut: bool = True


@dataclass(frozen=True)
class LabelSize:
    """Physical label stock; the gap is the blank between two labels on the roll."""

    width_mm: int = 40
    height_mm: int = 30
    gap_mm: int = 2

    def __post_init__(self) -> None:
        if self.width_mm <= 0 or self.height_mm <= 0 or self.gap_mm < 0:
            raise ValueError(f"invalid label size {self}")


@dataclass(frozen=True)
class Label:
    """A shelf, parcel or price label."""

    title: str
    lines: tuple[str, ...] = ()
    barcode: Barcode | None = None
    qr: QrCode | None = None
    size: LabelSize = LabelSize()
