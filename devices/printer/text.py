"""Text helpers shared by the renderers: money, display width, wrapping, padding.

All pure. Widths are in printer columns (font A cells). How wide a character prints
depends on the printer's mode, so every width function takes the profile's encoding:

* Chinese mode (GB18030/GBK): the printer prints any byte below 0x80 as a half-width
  ASCII glyph and every multi-byte character as a full-width one, so width is 1 for
  ASCII and 2 for everything else (including "ambiguous" characters like ``×`` or ``·``).
* UTF-8 mode: Unicode East Asian Width decides: Wide/Fullwidth are 2, combining marks 0,
  the rest 1.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from devices.printer.profile import Encoding


def format_money(fen: int, symbol: str) -> str:
    """``1234`` → ``¥12.34``; negative amounts (discounts, refunds) as ``-¥1.00``."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{symbol}{yuan}.{cents:02d}"


def format_qty(qty: int | Decimal) -> str:
    if isinstance(qty, Decimal):
        return f"{qty.normalize():f}"
    return str(qty)


def printable(text: str, encoding: Encoding) -> str:
    """Make ``text`` safe to send as printer text on this encoding.

    Control characters become spaces: an item name or a member's nickname containing
    ESC or GS would otherwise be executed by the printer (open the drawer, cut, change
    mode). Characters the encoding cannot represent become ``?`` here, before layout,
    so that the width we lay out is the width that prints.
    """
    out: list[str] = []
    for ch in text:
        if ch < " " or "\x7f" <= ch < "\xa0":
            out.append(" ")
            continue
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            out.append("?")
            continue
        out.append(ch)
    return "".join(out)


def char_width(ch: str, encoding: Encoding) -> int:
    if encoding != "utf-8":
        return 1 if ch < "\x80" else 2
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str, encoding: Encoding) -> int:
    return sum(char_width(ch, encoding) for ch in text)


def wrap(text: str, width: int, encoding: Encoding) -> list[str]:
    """Split into lines of at most ``width`` columns without splitting a character.

    Breaks anywhere (Chinese has no spaces between words); an empty text gives one
    empty line so that callers can always print the result.
    """
    lines: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        w = char_width(ch, encoding)
        if used + w > width and current:
            lines.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += w
    lines.append("".join(current))
    return lines


def pad_right(text: str, width: int, encoding: Encoding) -> str:
    return text + " " * max(0, width - display_width(text, encoding))


def pad_left(text: str, width: int, encoding: Encoding) -> str:
    """Right-align in ``width`` columns, always keeping one separating space in front."""
    gap = max(1, width - display_width(text, encoding))
    return " " * gap + text


def spread(left: str, right: str, width: int, encoding: Encoding) -> str:
    """``left`` flush left and ``right`` flush right on one line of ``width`` columns."""
    gap = width - display_width(left, encoding) - display_width(right, encoding)
    return left + " " * max(1, gap) + right
