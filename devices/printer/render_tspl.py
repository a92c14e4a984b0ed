"""Label → TSPL (TSC, Gprinter, Xprinter label mode). Pure; output is GB18030 bytes.

TSPL is a line-oriented text language; label printers that speak it take a raw socket
(port 9100) or a serial/USB byte stream, never python-escpos (DESIGN §9). Positions are
in dots at 203 dpi (8 dots per mm). ``TSS24.BF2`` is the printers' built-in 24-dot
simplified Chinese font: full-width characters are 24 dots wide, ASCII 12.
"""

from __future__ import annotations

from devices.printer.document import Barcode, Label, QrCode
from devices.printer.profile import Encoding
from devices.printer.text import printable, wrap

DOTS_PER_MM = 8
MARGIN = 16  # 2 mm
CHINESE_FONT = "TSS24.BF2"
FONT_CELL = 12  # dots per column; a CJK character takes two columns
LINE_HEIGHT = 28  # 24-dot font plus 4 dots of leading
ENCODING: Encoding = "gb18030"

_TSPL_SYMBOLOGY = {"CODE128": "128", "EAN13": "EAN13"}


def quote(text: str) -> str:
    """A TSPL string literal; a double quote inside is written ``\\["]``."""
    return '"' + text.replace('"', '\\["]') + '"'


def _barcode(x: int, y: int, b: Barcode) -> str:
    # EAN13 takes 12 digits: the printer computes and prints the check digit itself.
    data = b.data[:12] if b.symbology == "EAN13" else b.data
    human = 1 if b.show_text else 0
    w = b.module_width
    return (
        f"BARCODE {x},{y},{quote(_TSPL_SYMBOLOGY[b.symbology])},{b.height_dots},"
        f"{human},0,{w},{w},{quote(data)}"
    )


def _qr(x: int, y: int, q: QrCode) -> str:
    if any(ch < " " for ch in q.payload):
        # A line break would end the TSPL command in the middle of the payload.
        raise ValueError("a TSPL QR payload cannot contain control characters or newlines")
    return f"QRCODE {x},{y},{q.error_level},{q.size},A,0,{quote(q.payload)}"


def render_label_tspl(label: Label, copies: int = 1) -> bytes:
    size = label.size
    columns = max(1, (size.width_mm * DOTS_PER_MM - 2 * MARGIN) // FONT_CELL)
    commands = [
        f"SIZE {size.width_mm} mm,{size.height_mm} mm",
        f"GAP {size.gap_mm} mm,0 mm",
        "DIRECTION 1",
        "CLS",
    ]
    y = MARGIN
    # The title is printed at 2x2 magnification, so it gets half the columns.
    for part in wrap(printable(label.title, ENCODING), max(1, columns // 2), ENCODING):
        commands.append(f"TEXT {MARGIN},{y},{quote(CHINESE_FONT)},0,2,2,{quote(part)}")
        y += 2 * LINE_HEIGHT
    for raw in label.lines:
        for part in wrap(printable(raw, ENCODING), columns, ENCODING):
            commands.append(f"TEXT {MARGIN},{y},{quote(CHINESE_FONT)},0,1,1,{quote(part)}")
            y += LINE_HEIGHT
    if label.barcode is not None:
        commands.append(_barcode(MARGIN, y, label.barcode))
        y += label.barcode.height_dots + LINE_HEIGHT
    if label.qr is not None:
        commands.append(_qr(MARGIN, y, label.qr))
    commands.append(f"PRINT {copies}")
    return ("\r\n".join(commands) + "\r\n").encode(ENCODING, errors="replace")
