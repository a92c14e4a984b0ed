"""ESC/POS command bytes, one small builder per command. Pure; no printer state.

Byte values follow the Epson ESC/POS reference, which Chinese-market printers (Xprinter,
GPrinter, Sunmi, HPRT…) implement, plus their FS & / FS . Chinese-mode commands.
The simulator (``devices.simulators.escpos_sim``) decodes exactly these.
"""

from __future__ import annotations

from typing import Literal

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INIT = ESC + b"@"
#: FS & — enter Chinese character mode: bytes >= 0x81 start a double-byte character.
CHINESE_MODE_ON = FS + b"&"
#: FS . — leave Chinese character mode.
CHINESE_MODE_OFF = FS + b"."
#: FS ( C fn=48 m=2 — select UTF-8 as the character encoding (Epson TM, recent firmware).
SELECT_UTF8 = FS + b"(C" + b"\x02\x00" + b"\x30\x02"

#: DLE EOT 4 — real-time paper sensor status; the printer answers one byte.
PAPER_STATUS_QUERY = DLE + EOT + b"\x04"

Align = Literal["left", "center", "right"]
_ALIGN = {"left": 0, "center": 1, "right": 2}

# Paper sensor status byte (answer to DLE EOT 4): bits 1 and 4 are always 1, bits 0 and
# 7 always 0; bits 2-3 = roll near its end, bits 5-6 = paper end.
STATUS_FIXED_MASK = 0x93
STATUS_FIXED_VALUE = 0x12
STATUS_NEAR_END_BITS = 0x0C
STATUS_PAPER_OUT_BITS = 0x60

_BARCODE_TYPES = {"CODE128": 73, "EAN13": 67}  # GS k function B type numbers
_QR_LEVELS = {"L": 48, "M": 49, "Q": 50, "H": 51}


def _byte(n: int) -> bytes:
    if not 0 <= n <= 255:
        raise ValueError(f"parameter {n} out of byte range")
    return bytes([n])


def bold(on: bool) -> bytes:
    return ESC + b"E" + _byte(1 if on else 0)


def char_size(width: int = 1, height: int = 1) -> bytes:
    """GS ! — character magnification 1..8 in each direction."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character size must be 1..8")
    return GS + b"!" + _byte((width - 1) << 4 | (height - 1))


def align(where: Align) -> bytes:
    return ESC + b"a" + _byte(_ALIGN[where])


def feed(lines: int) -> bytes:
    return ESC + b"d" + _byte(lines)


def cut(mode: Literal["partial", "full"]) -> bytes:
    return GS + b"V" + (b"\x01" if mode == "partial" else b"\x00")


def drawer_kick(pin: int = 0, on_ms: int = 50, off_ms: int = 500) -> bytes:
    """ESC p m t1 t2 — pulse the cash drawer; t1/t2 are in 2 ms units (0 25 250)."""
    return ESC + b"p" + _byte(pin) + _byte(on_ms // 2) + _byte(off_ms // 2)


def barcode(data: str, symbology: str, height: int, module_width: int, hri: bool) -> bytes:
    """GS h / GS w / GS H then GS k function B (length-prefixed data).

    CODE128 data is prefixed with ``{B`` (start in code set B) and a literal ``{`` is
    doubled, as the ESC/POS CODE128 syntax requires.
    """
    payload = data.encode("ascii")
    if symbology == "CODE128":
        payload = b"{B" + payload.replace(b"{", b"{{")
    return (
        GS
        + b"h"
        + _byte(height)
        + GS
        + b"w"
        + _byte(module_width)
        + GS
        + b"H"
        + _byte(2 if hri else 0)
        + GS
        + b"k"
        + _byte(_BARCODE_TYPES[symbology])
        + _byte(len(payload))
        + payload
    )


def _qr_function(fn: int, params: bytes) -> bytes:
    size = len(params) + 2  # cn and fn count towards pL/pH
    return GS + b"(k" + size.to_bytes(2, "little") + b"1" + _byte(fn) + params


def qr_code(payload: bytes, size: int, error_level: str) -> bytes:
    """GS ( k: select model 2, module size, error level, store the data, print it."""
    return (
        _qr_function(65, b"\x32\x00")
        + _qr_function(67, _byte(size))
        + _qr_function(69, _byte(_QR_LEVELS[error_level]))
        + _qr_function(80, b"0" + payload)
        + _qr_function(81, b"0")
    )
