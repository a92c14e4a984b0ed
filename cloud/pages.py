"""The HQ console: nodes, consolidated stock, recent sync incidents, catalog edits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from cloud.access import CatalogWriter, StockReader
from cloud.deps import HubDep, PagesDep
from cloud.services.catalog import item_fields, set_catalog_item
from cloud.views import consolidated_stock, node_rows
from domain.errors import BusinessRuleError
from sync_protocol.errors import ShopfloorError

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def console(request: Request, hub: HubDep, pages: PagesDep, _: StockReader) -> HTMLResponse:
    incidents = [
        {**i, "at": datetime.fromtimestamp(i["at_ms"] / 1000, UTC)}
        for i in hub.store.incidents(limit=10)
    ]
    return pages.render(
        request,
        "console.html",
        {
            "nodes": node_rows(hub.store),
            "stock": consolidated_stock(hub.store),
            "incidents": incidents,
        },
        fragment="_console_panel.html",
    )


@router.post("/catalog", response_class=HTMLResponse)
def catalog_form(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    who: CatalogWriter,
    sku: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
) -> HTMLResponse:
    locale = pages.locale_of(request)
    try:
        fields: dict[str, str | int | None] = {"name": name.strip() or None}
        if price.strip():
            fields["price_fen"] = yuan_to_fen(price)
        op = set_catalog_item(hub.store, sku, item_fields(fields), who.actor)
        hub.ops_written()
        text = (
            f"已保存 {sku}（操作 {op.seq}）" if locale == "zh-CN" else f"Saved {sku} (op {op.seq})"
        )
        return HTMLResponse(
            f'<p class="flash flash-ok" data-testid="catalog-saved">{_escape(text)}</p>'
        )
    except ShopfloorError as exc:
        text = exc.message_zh if locale == "zh-CN" else exc.message
        # 200, not 422: htmx swaps only successful responses, and this is the form's
        # normal answer to a typo, shown where the result goes.
        return HTMLResponse(
            f'<p class="flash flash-error" data-testid="catalog-error">{_escape(text)}</p>'
        )


def yuan_to_fen(text: str) -> int:
    """'12.5' → 1250. Money is entered in yuan and kept in integer fen."""
    try:
        amount = Decimal(text.strip().lstrip("¥￥"))
    except InvalidOperation as exc:
        raise BusinessRuleError(
            f"{text!r} is not an amount", message_zh=f"金额格式错误：{text}"
        ) from exc
    fen = amount * 100
    if fen != fen.to_integral_value() or fen < 0:
        raise BusinessRuleError(
            f"{text!r} is not a whole number of fen", message_zh=f"金额无效：{text}"
        )
    return int(fen)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
