"""Receipt / Label → ESC/POS bytes. Pure: same document and profile, same bytes.

We encode text ourselves instead of calling python-escpos's ``text()``: python-escpos
sends any string containing a CJK ideograph as raw GB18030 without switching the printer
into Chinese mode (DESIGN §9), which prints garbage on most Chinese printers. Here every
job starts by putting the printer in the mode its profile needs:

* GB18030 / GBK: ``FS &`` (Chinese character mode), then text in that encoding;
* UTF-8: ``FS .`` (make sure Chinese mode is off) and ``FS ( C`` select UTF-8.

Barcodes and QR codes use the printer's own ``GS k`` and ``GS ( k`` (byte-compatible
with python-escpos ``barcode(function_type="B")`` and ``qr(native=True)``), so no image
is rasterised and the job stays small.
"""

from __future__ import annotations

from devices.printer import escpos_commands as cmd
from devices.printer.document import Barcode, Label, QrCode, Receipt
from devices.printer.layout import BarcodeBlock, Block, TextBlock, label_blocks, receipt_blocks
from devices.printer.profile import PAPER_80MM, PrinterProfile


def encode_text(text: str, profile: PrinterProfile) -> bytes:
    """Text in the profile's encoding; unencodable characters print as ``?``."""
    return text.encode(profile.encoding, errors="replace")


def select_charset(profile: PrinterProfile) -> bytes:
    if profile.chinese_mode:
        return cmd.CHINESE_MODE_ON
    return cmd.CHINESE_MODE_OFF + cmd.SELECT_UTF8


class _Styler:
    """Emits a style command only when the style changes, so jobs stay short."""

    def __init__(self) -> None:
        self.align: cmd.Align = "left"
        self.bold = False
        self.size = 1

    def set(self, align: cmd.Align, bold: bool, size: int) -> bytes:
        out = b""
        if align != self.align:
            out += cmd.align(align)
        if bold != self.bold:
            out += cmd.bold(bold)
        if size != self.size:
            out += cmd.char_size(size, size)
        self.align, self.bold, self.size = align, bold, size
        return out


def _barcode(b: Barcode) -> bytes:
    return cmd.barcode(b.data, b.symbology, b.height_dots, b.module_width, b.show_text)


def _qr(q: QrCode) -> bytes:
    return cmd.qr_code(q.payload.encode("utf-8"), q.size, q.error_level)


def render_blocks(blocks: list[Block], profile: PrinterProfile) -> bytes:
    styler = _Styler()
    out = bytearray()
    for block in blocks:
        if isinstance(block, TextBlock):
            out += styler.set(block.align, block.bold, block.size)
            out += encode_text(block.text, profile) + cmd.LF
        elif isinstance(block, BarcodeBlock):
            out += styler.set("center", False, 1) + _barcode(block.barcode) + cmd.LF
        else:
            out += styler.set("center", False, 1) + _qr(block.qr) + cmd.LF
    out += styler.set("left", False, 1)
    return bytes(out)


def _finish(cut: bool, profile: PrinterProfile) -> bytes:
    # Leave the printer out of Chinese mode so a later job from another program that
    # assumes the power-on state is not misread.
    tail = cmd.CHINESE_MODE_OFF if profile.chinese_mode else b""
    if cut:
        return tail + cmd.feed(profile.feed_before_cut) + cmd.cut(profile.cut_mode)
    return tail + cmd.feed(2)


def render_receipt(receipt: Receipt, profile: PrinterProfile = PAPER_80MM) -> bytes:
    out = cmd.INIT + select_charset(profile)
    if receipt.open_drawer:
        # Kick first: the cashier needs the drawer while the paper is still printing.
        out += cmd.drawer_kick(pin=0, on_ms=50, off_ms=500)
    out += render_blocks(receipt_blocks(receipt, profile), profile)
    return out + _finish(receipt.cut, profile)


def render_label(label: Label, profile: PrinterProfile = PAPER_80MM) -> bytes:
    """A label on a receipt printer; real label printers take ``render_tspl``."""
    out = cmd.INIT + select_charset(profile)
    out += render_blocks(label_blocks(label, profile), profile)
    return out + _finish(True, profile)
