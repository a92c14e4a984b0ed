"""How one printer model wants its text: encoding, paper width, cut style.

The encoding decides both the bytes and the layout: in Chinese mode (GB18030/GBK) a
printer prints every multi-byte character with a full-width glyph, so column widths are
counted from the encoding, not only from Unicode's East Asian Width (see ``text.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["gb18030", "gbk", "utf-8"]
CutMode = Literal["partial", "full"]

#: Characters per line in the printer's standard font A (12x24 dots).
COLUMNS_58MM = 32
COLUMNS_80MM = 48


@dataclass(frozen=True)
class PrinterProfile:
    encoding: Encoding = "gb18030"
    columns: int = COLUMNS_80MM
    cut_mode: CutMode = "partial"
    #: Lines fed before cutting so the last printed line clears the cutter blade.
    feed_before_cut: int = 4
    #: ``None`` picks the glyph that prints on this encoding: the full-width ``￥``
    #: (GB2312 0xA3A4) for GB18030/GBK, since the half-width ``¥`` (U+00A5) is a
    #: 4-byte GB18030 sequence that GBK-only firmware prints as garbage and that GBK
    #: cannot encode at all; ``¥`` for UTF-8 printers.
    currency_symbol: str | None = None

    def __post_init__(self) -> None:
        if self.encoding not in ("gb18030", "gbk", "utf-8"):
            raise ValueError(f"unsupported printer encoding {self.encoding!r}")
        if self.columns < 24:
            raise ValueError("a receipt needs at least 24 columns")

    @property
    def chinese_mode(self) -> bool:
        """Whether the printer must be switched into Chinese (double-byte) mode."""
        return self.encoding in ("gb18030", "gbk")

    @property
    def currency(self) -> str:
        if self.currency_symbol is not None:
            return self.currency_symbol
        return "￥" if self.chinese_mode else "¥"


PAPER_58MM = PrinterProfile(columns=COLUMNS_58MM)
PAPER_80MM = PrinterProfile(columns=COLUMNS_80MM)
