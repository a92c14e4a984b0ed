"""Print documents from plain JSON, as they arrive in a ``print`` command.

A receipt::

    {"store_name": "上海徐汇店",
     "header_lines": ["收银员：01"],
     "lines": [{"name": "可口可乐 330ml", "qty": 2, "unit_price_fen": 350, "amount_fen": 700},
               {"name": "散装苹果", "qty": "0.532", "unit_price_fen": 1280, "amount_fen": 681}],
     "totals": [{"label": "合计", "amount_fen": 1381, "bold": true}],
     "payments": [{"label": "微信支付", "amount_fen": 1381}],
     "footer_lines": ["谢谢惠顾"],
     "barcode": {"data": "S001-000123", "symbology": "CODE128"},
     "qr": {"payload": "https://example.com/r/S001-000123"},
     "open_drawer": false, "cut": true}

A label: ``{"title": "…", "lines": [...], "barcode": {...}, "qr": {...},
"size": {"width_mm": 40, "height_mm": 30, "gap_mm": 2}}``.

Money is integer fen; a weighed quantity is a decimal STRING ("0.532"), never a float.
Anything else raises ``InvalidDocument`` with the path of the bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from devices.errors import DeviceError
from devices.printer.document import (
    AmountLine,
    Barcode,
    Label,
    LabelSize,
    QrCode,
    Receipt,
    ReceiptLine,
)


class InvalidDocument(DeviceError, ValueError):
    """A print command's document is malformed. What to do: fix the sender; nothing printed."""


_RECEIPT_KEYS = {
    "store_name",
    "lines",
    "totals",
    "payments",
    "header_lines",
    "footer_lines",
    "barcode",
    "qr",
    "open_drawer",
    "cut",
}
_LABEL_KEYS = {"title", "lines", "barcode", "qr", "size"}


def _obj(value: Any, where: str, allowed: set[str] | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidDocument(f"{where} must be an object")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise InvalidDocument(f"{where}: unknown field(s) {', '.join(unknown)}")
    return value


def _get(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...
) -> Any:
    if key not in data:
        if default is ...:
            raise InvalidDocument(f"{where}.{key} is required")
        return default
    value = data[key]
    bool_ok = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if (isinstance(value, bool) and not bool_ok) or not isinstance(value, kind):
        raise InvalidDocument(f"{where}.{key} has the wrong type: {value!r}")
    return value


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _get(data, key, list, where, [])
    if not all(isinstance(v, str) for v in values):
        raise InvalidDocument(f"{where}.{key} must be a list of strings")
    return tuple(values)


def _fen(data: Mapping[str, Any], key: str, where: str) -> int:
    value: int = _get(data, key, int, where)
    return value


def _qty(value: Any, where: str) -> int | Decimal:
    if isinstance(value, bool):
        raise InvalidDocument(f"{where}.qty must be an integer or a decimal string")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            qty = Decimal(value)
        except InvalidOperation as exc:
            raise InvalidDocument(f"{where}.qty {value!r} is not a number") from exc
        if not qty.is_finite():
            raise InvalidDocument(f"{where}.qty {value!r} is not a number")
        return qty
    raise InvalidDocument(f"{where}.qty must be an integer or a decimal string (not a float)")


def _amounts(data: Mapping[str, Any], key: str, where: str) -> tuple[AmountLine, ...]:
    out: list[AmountLine] = []
    for i, raw in enumerate(_get(data, key, list, where, [])):
        w = f"{where}.{key}[{i}]"
        item = _obj(raw, w, {"label", "amount_fen", "bold"})
        out.append(
            AmountLine(
                label=_get(item, "label", str, w),
                amount_fen=_fen(item, "amount_fen", w),
                bold=_get(item, "bold", bool, w, False),
            )
        )
    return tuple(out)


def _build(where: str, factory: Any, **kwargs: Any) -> Any:
    """Call a document constructor, turning its ValueError into InvalidDocument."""
    try:
        return factory(**kwargs)
    except (ValueError, TypeError) as exc:
        raise InvalidDocument(f"{where}: {exc}") from exc


def _barcode(data: Mapping[str, Any], where: str) -> Barcode | None:
    raw = data.get("barcode")
    if raw is None:
        return None
    w = f"{where}.barcode"
    b = _obj(raw, w, {"data", "symbology", "height_dots", "module_width", "show_text"})
    kwargs: dict[str, Any] = {"data": _get(b, "data", str, w)}
    for key, kind in (
        ("symbology", str),
        ("height_dots", int),
        ("module_width", int),
        ("show_text", bool),
    ):
        if key in b:
            kwargs[key] = _get(b, key, kind, w)
    result: Barcode = _build(w, Barcode, **kwargs)
    return result


def _qr(data: Mapping[str, Any], where: str) -> QrCode | None:
    raw = data.get("qr")
    if raw is None:
        return None
    w = f"{where}.qr"
    q = _obj(raw, w, {"payload", "size", "error_level"})
    kwargs: dict[str, Any] = {"payload": _get(q, "payload", str, w)}
    if "size" in q:
        kwargs["size"] = _get(q, "size", int, w)
    if "error_level" in q:
        kwargs["error_level"] = _get(q, "error_level", str, w)
    result: QrCode = _build(w, QrCode, **kwargs)
    return result


def receipt_from_json(data: Any) -> Receipt:
    """A Receipt from the plain structure above; InvalidDocument when it does not fit."""
    where = "receipt"
    r = _obj(data, where, _RECEIPT_KEYS)
    lines: list[ReceiptLine] = []
    for i, raw in enumerate(_get(r, "lines", list, where)):
        w = f"{where}.lines[{i}]"
        line = _obj(raw, w, {"name", "qty", "unit_price_fen", "amount_fen"})
        lines.append(
            ReceiptLine(
                name=_get(line, "name", str, w),
                qty=_qty(line.get("qty", 1), w),
                unit_price_fen=_fen(line, "unit_price_fen", w),
                amount_fen=_fen(line, "amount_fen", w),
            )
        )
    result: Receipt = _build(
        where,
        Receipt,
        store_name=_get(r, "store_name", str, where),
        lines=tuple(lines),
        totals=_amounts(r, "totals", where),
        payments=_amounts(r, "payments", where),
        header_lines=_strings(r, "header_lines", where),
        footer_lines=_strings(r, "footer_lines", where),
        barcode=_barcode(r, where),
        qr=_qr(r, where),
        open_drawer=_get(r, "open_drawer", bool, where, False),
        cut=_get(r, "cut", bool, where, True),
    )
    return result


def label_from_json(data: Any) -> Label:
    where = "label"
    d = _obj(data, where, _LABEL_KEYS)
    size = LabelSize()
    if "size" in d:
        w = f"{where}.size"
        s = _obj(d["size"], w, {"width_mm", "height_mm", "gap_mm"})
        size = _build(
            w,
            LabelSize,
            width_mm=_get(s, "width_mm", int, w, 40),
            height_mm=_get(s, "height_mm", int, w, 30),
            gap_mm=_get(s, "gap_mm", int, w, 2),
        )
    result: Label = _build(
        where,
        Label,
        title=_get(d, "title", str, where),
        lines=_strings(d, "lines", where),
        barcode=_barcode(d, where),
        qr=_qr(d, where),
        size=size,
    )
    return result
