"""Read ESC/POS bytes back the way a Chinese-market printer would: what comes out on
paper, split at each cut, and what the printer answers to real-time status queries.

Sans-I/O: ``EscPosDecoder.feed(bytes)`` returns the reply bytes and may be fed a job in
arbitrary pieces. The simulator (``devices.simulators.escpos_sim``) is a socket pump
around it; it also serves print previews of queued jobs.

It decodes GB18030 only after ``FS &`` (Chinese mode) and UTF-8 only after ``FS ( C``
selects it; otherwise bytes >= 0x80 are code page 437, as on a real printer, so a job
that forgets the mode command (python-escpos's ``text()`` does, DESIGN §9) decodes to
garbage here too.

Keep this module independent of the renderer (``render_escpos``, ``escpos_commands``):
byte values are spelled out again on purpose, so the tests compare two readings of the
ESC/POS manual instead of one reading with itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal


class _NeedMore(Exception):
    """The buffer ends inside a command; wait for more bytes."""


@dataclass(frozen=True)
class PrintedLine:
    """A line of text; the style is the one in force at its first character."""

    text: str
    bold: bool = False
    width: int = 1
    height: int = 1
    align: Literal["left", "center", "right"] = "left"


@dataclass(frozen=True)
class PrintedBarcode:
    symbology: str  # "CODE128", "EAN13", or "type-<n>" for others
    data: str


@dataclass(frozen=True)
class PrintedQr:
    payload: str
    size: int
    error_level: str


@dataclass(frozen=True)
class DrawerKick:
    pin: int
    on_ms: int
    off_ms: int


PaperItem = PrintedLine | PrintedBarcode | PrintedQr


def _width(text: str) -> int:
    # A Chinese-mode printer prints every non-ASCII character full width.
    return sum(1 if ch < "\x80" else 2 for ch in text)


@dataclass
class PrintedDocument:
    """What came out between two cuts, in paper order."""

    items: list[PaperItem] = field(default_factory=list)
    drawer_kicks: list[DrawerKick] = field(default_factory=list)
    cut: Literal["partial", "full"] | None = None

    @property
    def lines(self) -> list[PrintedLine]:
        return [i for i in self.items if isinstance(i, PrintedLine)]

    @property
    def barcodes(self) -> list[PrintedBarcode]:
        return [i for i in self.items if isinstance(i, PrintedBarcode)]

    @property
    def qr_codes(self) -> list[PrintedQr]:
        return [i for i in self.items if isinstance(i, PrintedQr)]

    def text(self, columns: int = 48) -> str:
        """The paper as plain text: alignment applied, codes shown as ``[QR …]``."""
        out: list[str] = []
        for item in self.items:
            if isinstance(item, PrintedBarcode):
                out.append(f"[{item.symbology} {item.data}]")
            elif isinstance(item, PrintedQr):
                out.append(f"[QR {item.payload}]")
            else:
                room = columns - _width(item.text) * item.width
                pad = {"left": 0, "center": room // 2, "right": room}[item.align]
                out.append(" " * max(0, pad) + item.text if item.text else "")
        return "\n".join(out).rstrip("\n")


@dataclass
class _Style:
    bold: bool = False
    width: int = 1
    height: int = 1
    align: Literal["left", "center", "right"] = "left"
    chinese: bool = False
    utf8: bool = False


_ALIGNS: dict[int, Literal["left", "center", "right"]] = {
    0: "left",
    1: "center",
    2: "right",
    48: "left",
    49: "center",
    50: "right",
}
_BARCODE_NAMES = {67: "EAN13", 2: "EAN13", 73: "CODE128"}
_QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
# Commands whose parameters we skip: (prefix, command byte) → number of parameter bytes.
_SKIP = {
    (0x1B, ord("-")): 1,
    (0x1B, ord("M")): 1,
    (0x1B, ord("R")): 1,
    (0x1B, ord("t")): 1,
    (0x1B, ord("J")): 1,
    (0x1B, ord("3")): 1,
    (0x1B, ord("2")): 0,
    (0x1B, ord("G")): 1,
    (0x1D, ord("h")): 1,
    (0x1D, ord("w")): 1,
    (0x1D, ord("H")): 1,
    (0x1D, ord("f")): 1,
    (0x1D, ord("B")): 1,
    (0x1D, ord("L")): 2,
    (0x1D, ord("W")): 2,
    (0x1C, ord("!")): 1,
    (0x1C, ord("C")): 1,
}
PAPER_OK, PAPER_NEAR_END, PAPER_OUT = 0x12, 0x1E, 0x72  # answers to DLE EOT 4


class EscPosDecoder:
    """The printer's brain, without a socket. ``feed`` may split commands anywhere."""

    def __init__(
        self,
        paper_status: Callable[[], int] = lambda: PAPER_OK,
        documents: list[PrintedDocument] | None = None,
        answers_status: bool = True,
    ) -> None:
        self.paper_status = paper_status
        self.answers_status = answers_status
        self.documents: list[PrintedDocument] = [] if documents is None else documents
        self.current = PrintedDocument()
        self.unknown: list[bytes] = []  # commands we did not understand, for test failures
        self._style = _Style()
        self._chars: list[str] = []
        self._line_style = _Style()
        self._buf = b""
        self._qr_data = b""
        self._qr_size = 3
        self._qr_level = "L"

    # --- the byte stream -------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume bytes; return what the printer sends back."""
        self._buf += data
        replies = bytearray()
        pos = 0
        while pos < len(self._buf):
            try:
                pos = self._step(pos, replies)
            except _NeedMore:
                break
        self._buf = self._buf[pos:]
        return bytes(replies)

    def _need(self, pos: int, n: int) -> bytes:
        if pos + n > len(self._buf):
            raise _NeedMore
        return self._buf[pos : pos + n]

    def _step(self, pos: int, replies: bytearray) -> int:
        b = self._buf[pos]
        if b == 0x0A:
            self._end_line()
            return pos + 1
        if b in (0x1B, 0x1D, 0x1C, 0x10):
            return self._command(pos, replies)
        if b == 0x09:
            self._text(" " * (8 - len(self._chars) % 8))
            return pos + 1
        if b < 0x20:
            return pos + 1  # CR and other controls print nothing
        return self._character(pos)

    def _character(self, pos: int) -> int:
        b = self._buf[pos]
        if b < 0x80:
            self._text(chr(b))
            return pos + 1
        if self._style.chinese and 0x81 <= b <= 0xFE:
            second = self._need(pos, 2)[1]
            size = 4 if 0x30 <= second <= 0x39 else 2  # GB18030 four-byte form
            self._text(self._need(pos, size).decode("gb18030", errors="replace"))
            return pos + size
        if self._style.utf8:
            size = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            self._text(self._need(pos, size).decode("utf-8", errors="replace"))
            return pos + size
        self._text(bytes([b]).decode("cp437"))
        return pos + 1

    def _command(self, pos: int, replies: bytearray) -> int:
        prefix, op = self._need(pos, 2)
        if (prefix, op) in _SKIP:
            return pos + 2 + len(self._need(pos + 2, _SKIP[prefix, op]))
        handler = _HANDLERS.get((prefix, op))
        if handler is None:
            self.unknown.append(bytes([prefix, op]))
            return pos + 2
        return handler(self, pos + 2, replies)

    # --- paper -----------------------------------------------------------------------

    def _text(self, s: str) -> None:
        if not self._chars:
            self._line_style = _Style(**vars(self._style))
        self._chars.extend(s)

    def _end_line(self) -> None:
        st = self._line_style if self._chars else self._style
        self.current.items.append(
            PrintedLine("".join(self._chars), st.bold, st.width, st.height, st.align)
        )
        self._chars = []

    def _flush(self) -> None:
        if self._chars:
            self._end_line()

    def _cut(self, mode: Literal["partial", "full"]) -> None:
        self._flush()
        self.current.cut = mode
        self.documents.append(self.current)
        self.current = PrintedDocument()

    # --- command handlers: each gets the position after the two command bytes -------

    def _init(self, pos: int, _: bytearray) -> int:
        self._chars = []  # ESC @ clears the print buffer and every mode
        self._style = _Style()
        return pos

    def _bold(self, pos: int, _: bytearray) -> int:
        self._style.bold = bool(self._need(pos, 1)[0] & 1)
        return pos + 1

    def _print_mode(self, pos: int, _: bytearray) -> int:
        n = self._need(pos, 1)[0]  # ESC !: bit 3 bold, bit 4 double height, bit 5 double width
        self._style.bold = bool(n & 0x08)
        self._style.height = 2 if n & 0x10 else 1
        self._style.width = 2 if n & 0x20 else 1
        return pos + 1

    def _size(self, pos: int, _: bytearray) -> int:
        n = self._need(pos, 1)[0]
        self._style.width, self._style.height = (n >> 4) + 1, (n & 0x0F) + 1
        return pos + 1

    def _align(self, pos: int, _: bytearray) -> int:
        self._style.align = _ALIGNS.get(self._need(pos, 1)[0], "left")
        return pos + 1

    def _feed(self, pos: int, _: bytearray) -> int:
        n = self._need(pos, 1)[0]
        self._flush()
        self.current.items.extend(PrintedLine("") for _ in range(n))
        return pos + 1

    def _drawer(self, pos: int, _: bytearray) -> int:
        pin, t1, t2 = self._need(pos, 3)
        self.current.drawer_kicks.append(DrawerKick(pin & 1, t1 * 2, t2 * 2))
        return pos + 3

    def _chinese_on(self, pos: int, _: bytearray) -> int:
        self._style.chinese = True
        return pos

    def _chinese_off(self, pos: int, _: bytearray) -> int:
        self._style.chinese = False
        return pos

    def _fs_paren(self, pos: int, _: bytearray) -> int:
        fn, p_l, p_h = self._need(pos, 3)
        body = self._need(pos + 3, p_l + p_h * 256)
        if fn == ord("C") and body[:1] == b"\x30":  # FS ( C fn 48: select encoding
            self._style.utf8 = body[1:2] == b"\x02"
        return pos + 3 + len(body)

    def _cut_cmd(self, pos: int, _: bytearray) -> int:
        m = self._need(pos, 1)[0]
        size = 2 if m in (65, 66) else 1  # function B carries a feed amount
        self._need(pos, size)
        self._cut("full" if m in (0, 48, 65) else "partial")
        return pos + size

    def _barcode(self, pos: int, _: bytearray) -> int:
        m = self._need(pos, 1)[0]
        if m <= 6:  # function A: NUL-terminated
            end = self._buf.find(b"\x00", pos + 1)
            if end < 0:
                raise _NeedMore
            data, after = self._buf[pos + 1 : end], end + 1
        else:
            n = self._need(pos + 1, 1)[0]
            data, after = self._need(pos + 2, n), pos + 2 + n
        name = _BARCODE_NAMES.get(m, f"type-{m}")
        self._flush()
        self.current.items.append(PrintedBarcode(name, _barcode_text(name, data)))
        return after

    def _gs_paren(self, pos: int, _: bytearray) -> int:
        fn_group, p_l, p_h = self._need(pos, 3)
        body = self._need(pos + 3, p_l + p_h * 256)
        if fn_group == ord("k") and len(body) >= 2 and body[:1] == b"1":  # cn 49: QR code
            self._qr(body[1], body[2:])
        return pos + 3 + len(body)

    def _qr(self, fn: int, params: bytes) -> None:
        if fn == 67 and params:
            self._qr_size = params[0]
        elif fn == 69 and params:
            self._qr_level = _QR_LEVELS.get(params[0], "?")
        elif fn == 80:
            self._qr_data = params[1:]  # after m = '0'
        elif fn == 81:
            self._flush()
            payload = self._qr_data.decode("utf-8", errors="replace")
            self.current.items.append(PrintedQr(payload, self._qr_size, self._qr_level))

    def _raster(self, pos: int, _: bytearray) -> int:
        _m, x_l, x_h, y_l, y_h = self._need(pos + 1, 5)  # GS v 0 m xL xH yL yH d…
        size = (x_l + x_h * 256) * (y_l + y_h * 256)
        self._need(pos + 6, size)
        self._flush()
        self.current.items.append(PrintedLine("[image]"))
        return pos + 6 + size

    def _realtime(self, pos: int, replies: bytearray) -> int:
        n = self._need(pos, 1)[0]  # DLE EOT n
        if self.answers_status:
            # n = 1..3 (printer, offline cause, error): "all fine" is the fixed bits alone.
            replies.append(self.paper_status() if n == 4 else 0x12)
        return pos + 1


_Handler = Callable[[EscPosDecoder, int, bytearray], int]
_HANDLERS: dict[tuple[int, int], _Handler] = {
    (0x1B, ord("@")): EscPosDecoder._init,
    (0x1B, ord("E")): EscPosDecoder._bold,
    (0x1B, ord("!")): EscPosDecoder._print_mode,
    (0x1B, ord("a")): EscPosDecoder._align,
    (0x1B, ord("d")): EscPosDecoder._feed,
    (0x1B, ord("p")): EscPosDecoder._drawer,
    (0x1D, ord("!")): EscPosDecoder._size,
    (0x1D, ord("V")): EscPosDecoder._cut_cmd,
    (0x1D, ord("k")): EscPosDecoder._barcode,
    (0x1D, ord("(")): EscPosDecoder._gs_paren,
    (0x1D, ord("v")): EscPosDecoder._raster,
    (0x1C, ord("&")): EscPosDecoder._chinese_on,
    (0x1C, ord(".")): EscPosDecoder._chinese_off,
    (0x1C, ord("(")): EscPosDecoder._fs_paren,
    (0x10, 0x04): EscPosDecoder._realtime,
}


def _barcode_text(name: str, data: bytes) -> str:
    if name == "EAN13" and len(data) == 12:
        total = sum(int(chr(d)) * (3 if i % 2 else 1) for i, d in enumerate(data))
        return data.decode("ascii") + str((10 - total % 10) % 10)
    if name != "CODE128":
        return data.decode("ascii", errors="replace")
    # CODE128: "{A" "{B" "{C" switch code sets, "{{" is a literal brace; in code set C
    # each byte is a pair of digits.
    out, code_set, i = [], "B", 0
    while i < len(data):
        if data[i : i + 1] == b"{" and i + 1 < len(data):
            nxt = chr(data[i + 1])
            if nxt in "ABC":
                code_set, i = nxt, i + 2
                continue
            if nxt == "{":
                out.append("{")
                i += 2
                continue
        out.append(f"{data[i]:02d}" if code_set == "C" else chr(data[i]))
        i += 1
    return "".join(out)
