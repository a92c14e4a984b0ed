"""What each workstation shows: pure in-memory state, changed by the router, read by pages.

Kept in memory on purpose (issue 3): a POS lane's basket here is the list of scanned
items waiting for the sale flow of a later issue; nothing in it is a business fact yet.
Messages are stored as i18n keys with parameters, so each page renders them in its
viewer's language.

Every change bumps ``version``; the SSE stream sends the panel again when it moves.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from edge.workstations.config import WorkstationConfig

NoticeLevel = Literal["error", "warn", "ok", "info"]
LOG_SIZE = 12


@dataclass(frozen=True)
class CatalogHit:
    """An item found for a scanned code (by its barcode field, else by SKU)."""

    sku: str
    name: str
    price_fen: int | None
    unit: str = ""


@dataclass(frozen=True)
class Notice:
    level: NoticeLevel
    key: str  # an i18n key, e.g. "error.unknown_barcode"
    params: dict[str, Any]
    at: datetime
    device: str = ""


@dataclass
class Line:
    sku: str
    name: str
    qty: int
    unit_price_fen: int | None

    @property
    def amount_fen(self) -> int | None:
        return None if self.unit_price_fen is None else self.unit_price_fen * self.qty


@dataclass
class DeviceView:
    id: str
    state: str = "unknown"  # online | offline | error | unknown (never heard of)
    kind: str = ""
    model: str = ""
    detail: str = ""
    jobs_waiting: int | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class WeightView:
    device: str
    grams: int
    stable: bool
    tare_grams: int
    overload: bool
    underload: bool
    at: datetime


@dataclass
class WorkstationState:
    config: WorkstationConfig
    version: int = 0
    lines: list[Line] = field(default_factory=list)  # POS basket / packing list
    pending: Line | None = None  # receiving: scanned, waiting for confirmation
    alert: Notice | None = None  # the error the operator must see now
    log: deque[Notice] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    weight: WeightView | None = None
    devices: dict[str, DeviceView] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for device in self.config.devices:
            self.devices.setdefault(device, DeviceView(device))

    def touch(self) -> None:
        self.version += 1

    def note(self, notice: Notice) -> None:
        self.log.appendleft(notice)
        if notice.level == "error":
            self.alert = notice
        self.touch()

    def add_line(self, item: CatalogHit, qty: int = 1) -> Line:
        """Add ``qty`` of an item; a second scan of the same item adds to its line."""
        for line in self.lines:
            if line.sku == item.sku:
                line.qty += qty
                break
        else:
            line = Line(item.sku, item.name, qty, item.price_fen)
            self.lines.append(line)
        self.alert = None  # a good scan answers the last problem
        self.touch()
        return line

    def stage_receipt(self, item: CatalogHit) -> Line:
        if self.pending is not None and self.pending.sku == item.sku:
            self.pending.qty += 1
        else:
            self.pending = Line(item.sku, item.name, 1, item.price_fen)
        self.alert = None
        self.touch()
        return self.pending

    def total_fen(self) -> int:
        return sum(line.amount_fen or 0 for line in self.lines)

    def clear(self) -> None:
        self.lines.clear()
        self.pending = None
        self.alert = None
        self.touch()

    def view(self, locale: str = "zh-CN") -> dict[str, Any]:
        """A plain snapshot for templates and the JSON endpoint (copies, not live objects).

        Notice parameters given per language (``{"en": …, "zh-CN": …}``, e.g. an error
        message from a service) are resolved to ``locale`` here.
        """
        cfg = self.config
        return {
            "id": cfg.id,
            "kind": cfg.kind,
            "label": cfg.label,
            "version": self.version,
            "lines": [_line(line) for line in self.lines],
            "total_fen": self.total_fen(),
            "count": sum(line.qty for line in self.lines),
            "pending": None if self.pending is None else _line(self.pending),
            "auto_receive": cfg.auto_receive,
            "alert": None if self.alert is None else _notice(self.alert, locale),
            "log": [_notice(n, locale) for n in self.log],
            "weight": None if self.weight is None else _weight(self.weight),
            "devices": [_device(self.devices[d]) for d in cfg.devices],
        }


def _line(line: Line) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "name": line.name,
        "qty": line.qty,
        "unit_price_fen": line.unit_price_fen,
        "amount_fen": line.amount_fen,
    }


def _param(value: Any, locale: str) -> Any:
    if isinstance(value, dict) and "en" in value:
        return value.get(locale, value["en"])
    return value


def _notice(n: Notice, locale: str) -> dict[str, Any]:
    params = {k: _param(v, locale) for k, v in n.params.items()}
    return {"level": n.level, "key": n.key, "params": params, "at": n.at, "device": n.device}


def kilograms(grams: int) -> str:
    """1234 → "1.234 kg", exactly (integer grams, no float rounding)."""
    sign = "-" if grams < 0 else ""
    whole, rest = divmod(abs(grams), 1000)
    return f"{sign}{whole}.{rest:03d} kg"


def _weight(w: WeightView) -> dict[str, Any]:
    return {
        "device": w.device,
        "grams": w.grams,
        "text": kilograms(w.grams),
        "stable": w.stable,
        "tare_grams": w.tare_grams,
        "tare_text": kilograms(w.tare_grams),
        "overload": w.overload,
        "underload": w.underload,
        "at": w.at,
    }


def _device(d: DeviceView) -> dict[str, Any]:
    return {
        "id": d.id,
        "state": d.state,
        "kind": d.kind,
        "model": d.model,
        "detail": d.detail,
        "jobs_waiting": d.jobs_waiting,
        "since": d.since,
    }
