"""Receipt and label printing: documents, renderers, transports, a durable job queue.

Typical use on a POS lane::

    queue = PrintQueue(data_dir / "printer-lane1.sqlite3")
    worker = PrintWorker(queue, NetworkTransport("192.168.1.50"))
    worker.start()
    queue.enqueue(render_receipt(receipt, PAPER_80MM), "小票 S001-000123",
                  key="receipt:S001-000123")
    queue.pending()   # jobs not printed yet, with attempts and last error

Modules, one job each: ``document`` (what to print), ``profile`` (how a printer wants
text), ``text`` and ``layout`` (columns), ``escpos_commands`` + ``render_escpos`` and
``render_tspl`` (bytes), ``transport`` (TCP / serial / USB), ``queue`` + ``worker``
(durability and retries), ``escpos_decode`` + ``tspl_decode`` (reading bytes back, for
the simulator and print previews).
"""

from devices.printer.document import (
    AmountLine,
    Barcode,
    Label,
    LabelSize,
    QrCode,
    Receipt,
    ReceiptLine,
)
from devices.printer.profile import PAPER_58MM, PAPER_80MM, PrinterProfile
from devices.printer.queue import PrintJob, PrintQueue
from devices.printer.render_escpos import render_label, render_receipt
from devices.printer.render_tspl import render_label_tspl
from devices.printer.transport import (
    NetworkTransport,
    PaperOut,
    PaperStatus,
    PrinterTransport,
    SerialTransport,
    UsbTransport,
)
from devices.printer.worker import PrintWorker, RetryPolicy

__all__ = [
    "PAPER_58MM",
    "PAPER_80MM",
    "AmountLine",
    "Barcode",
    "Label",
    "LabelSize",
    "NetworkTransport",
    "PaperOut",
    "PaperStatus",
    "PrintJob",
    "PrintQueue",
    "PrintWorker",
    "PrinterProfile",
    "PrinterTransport",
    "QrCode",
    "Receipt",
    "ReceiptLine",
    "RetryPolicy",
    "SerialTransport",
    "UsbTransport",
    "render_label",
    "render_label_tspl",
    "render_receipt",
]
