"""Read TSPL label jobs back: one ``PrintedLabel`` per ``PRINT``. Sans-I/O, GB18030.

Covers what ``render_tspl`` and common label software send (SIZE, GAP, CLS, TEXT,
BARCODE, QRCODE, PRINT); anything else is kept in ``unknown`` so a test can see it.
Independent of ``render_tspl`` on purpose, like ``escpos_decode``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from devices.printer.escpos_decode import PrintedBarcode

_TSPL_SYMBOLOGIES = {"128": "CODE128", "EAN13": "EAN13"}
_MM = re.compile(r"\s*([\d.]+)\s*(mm)?\s*", re.IGNORECASE)


@dataclass
class PrintedLabel:
    width_mm: float | None = None
    height_mm: float | None = None
    gap_mm: float | None = None
    texts: list[str] = field(default_factory=list)
    fonts: list[str] = field(default_factory=list)
    barcodes: list[PrintedBarcode] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    copies: int = 1

    def text(self) -> str:
        lines = list(self.texts)
        lines += [f"[{b.symbology} {b.data}]" for b in self.barcodes]
        lines += [f"[QR {q}]" for q in self.qr_codes]
        return "\n".join(lines)


def split_args(args: str) -> list[str]:
    """Split TSPL arguments on commas outside quotes; unquote, turning ``\\["]`` into ``"``."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for part in re.split(r'(\\\["\]|"|,)', args):
        if part == '\\["]':
            current.append('"')
        elif part == '"':
            quoted = not quoted
        elif part == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            # Spaces around arguments are layout; spaces inside quotes are content.
            current.append(part if quoted else part.strip())
    out.append("".join(current))
    return out


def _mm(value: str) -> float | None:
    match = _MM.fullmatch(value)
    return float(match.group(1)) if match else None


class TsplDecoder:
    def __init__(self) -> None:
        self.labels: list[PrintedLabel] = []
        self.unknown: list[str] = []
        self._label = PrintedLabel()
        self._buf = b""

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            line = raw.decode("gb18030", errors="replace").strip()
            if line:
                self._command(line)
        return b""  # status queries (ESC !?) are not simulated

    def _command(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        args = split_args(rest) if rest else []
        label = self._label
        if name == "SIZE" and len(args) == 2:
            label.width_mm, label.height_mm = _mm(args[0]), _mm(args[1])
        elif name == "GAP" and args:
            label.gap_mm = _mm(args[0])
        elif name == "CLS":
            label.texts, label.fonts, label.barcodes, label.qr_codes = [], [], [], []
        elif name == "TEXT" and len(args) >= 7:
            label.fonts.append(args[2])
            label.texts.append(args[-1])
        elif name == "BARCODE" and len(args) >= 9:
            symbology = _TSPL_SYMBOLOGIES.get(args[2], args[2])
            data = args[-1]
            if symbology == "EAN13" and len(data) == 12:
                total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(data))
                data += str((10 - total % 10) % 10)
            label.barcodes.append(PrintedBarcode(symbology, data))
        elif name == "QRCODE" and len(args) >= 5:
            label.qr_codes.append(args[-1])
        elif name == "PRINT":
            label.copies = int(args[0]) if args else 1
            self.labels.append(label)
            # Size and gap are printer settings that persist; the content does not.
            self._label = PrintedLabel(label.width_mm, label.height_mm, label.gap_mm)
        elif name != "DIRECTION":
            self.unknown.append(line)
