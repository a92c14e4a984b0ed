"""Hostile and malformed requests to the node's and the hub's JSON APIs: each is refused
with a 4xx and a message in English and Chinese (`ErrorOut`), and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import CATALOG, Served
from web_ui.errors import MAX_BODY_BYTES, validation_error_body

COLA = "6902538005141"
JSON = {"content-type": "application/json"}


def hub_head(hub: Served) -> int:
    return int(hub.app.state.hub.store.head("cloud"))


def node_head(node: Served) -> int:
    return int(node.app.state.node.ledger.head("store-1"))


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """The answer is `status` in the ErrorOut shape, with both messages."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["error"] and body["message"] and body["message_zh"], body
    assert body["message"] != body["message_zh"]
    return body


# --- types -----------------------------------------------------------------------------


def test_true_is_not_a_price_and_nothing_is_written(hub: Served) -> None:
    before = hub_head(hub)
    body = refused(
        hub.client.post("/api/catalog/items", json={"sku": COLA, "fields": {"price_fen": True}}),
        422,
    )
    assert body["fields"] == ["fields.price_fen"]
    assert "价格" in body["message_zh"] or "price_fen" in body["message_zh"]
    assert hub_head(hub) == before
    assert hub.client.get("/api/catalog").json()[COLA]["price_fen"] == CATALOG[COLA][1]


def test_true_is_not_a_quantity(node: Served) -> None:
    before = node_head(node)
    refused(node.client.post("/api/stock/receive", json={"sku": COLA, "qty": True}), 422)
    assert node_head(node) == before


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(node: Served, hub: Served, number: bytes) -> None:
    before = node_head(node), hub_head(hub)
    receive = b'{"sku": "%s", "qty": %s}' % (COLA.encode(), number)
    assert refused(node.client.post("/api/stock/receive", content=receive, headers=JSON), 422)[
        "fields"
    ] == ["qty"]
    price = b'{"sku": "%s", "fields": {"price_fen": %s}}' % (COLA.encode(), number)
    refused(hub.client.post("/api/catalog/items", content=price, headers=JSON), 422)
    assert (node_head(node), hub_head(hub)) == before


def test_a_whole_number_written_with_a_decimal_point_is_that_number(node: Served) -> None:
    """JSON Schema's integer includes 3.0, so the API takes it (and refuses 3.5)."""
    answer = node.client.post("/api/stock/receive", json={"sku": COLA, "qty": 3.0})
    assert answer.status_code == 200 and answer.json()["qty"] == 3
    refused(node.client.post("/api/stock/receive", json={"sku": COLA, "qty": 3.5}), 422)


def test_a_number_as_text_is_refused(node: Served) -> None:
    refused(node.client.post("/api/stock/receive", json={"sku": COLA, "qty": "5"}), 422)


# --- bounds ----------------------------------------------------------------------------


def test_a_quantity_of_10_to_the_30_is_refused(node: Served) -> None:
    before = node_head(node)
    body = refused(node.client.post("/api/stock/receive", json={"sku": COLA, "qty": 10**30}), 422)
    assert body["fields"] == ["qty"] and "1000000" in body["message"]
    sale = {"lines": [{"sku": COLA, "qty": 10**30}]}
    assert refused(node.client.post("/api/sales", json=sale), 422)["fields"] == ["lines[0].qty"]
    assert node_head(node) == before


def test_a_price_beyond_bounds_is_refused(hub: Served) -> None:
    item = {"sku": COLA, "fields": {"price_fen": 10**12}}
    refused(hub.client.post("/api/catalog/items", json=item), 422)


def test_a_limit_of_10_to_the_9_is_refused(hub: Served) -> None:
    body = refused(hub.client.get("/api/incidents", params={"limit": 10**9}), 422)
    assert body["fields"] == ["query.limit"] and "1000" in body["message_zh"]
    assert hub.client.get("/api/incidents", params={"limit": 1000}).status_code == 200


def test_too_many_sale_lines_are_refused(node: Served) -> None:
    sale = {"lines": [{"sku": COLA, "qty": 1}] * 501}
    refused(node.client.post("/api/sales", json=sale), 422)


def test_an_unknown_payment_is_refused(node: Served) -> None:
    sale = {"lines": [{"sku": COLA, "qty": 1}], "payment": "bitcoin"}
    refused(node.client.post("/api/sales", json=sale), 422)


# --- size and encoding -----------------------------------------------------------------


def test_a_2_mb_string_is_refused_before_it_is_read(node: Served) -> None:
    body = refused(
        node.client.post(
            "/api/stock/receive", json={"sku": COLA, "qty": 1, "actor": "x" * 2_000_000}
        ),
        413,
    )
    assert str(MAX_BODY_BYTES) in body["message"] and str(MAX_BODY_BYTES) in body["message_zh"]


def test_a_2_mb_body_without_a_length_is_refused_too(hub: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"sku": "%s", "fields": {"name": "' % COLA.encode()
        for _ in range(2_000):
            yield b"x" * 1_000
        yield b'"}}'

    before = hub_head(hub)
    refused(hub.client.post("/api/catalog/items", content=chunks(), headers=JSON), 413)
    assert hub_head(hub) == before


def test_a_long_string_is_refused_without_being_echoed(node: Served) -> None:
    long_ref = "参考" * 20_000
    answer = node.client.post("/api/stock/receive", json={"sku": COLA, "qty": 1, "ref": long_ref})
    body = refused(answer, 422)
    assert body["fields"] == ["ref"] and len(answer.content) < 2_000


def test_a_body_that_is_not_utf8_is_refused(node: Served, hub: Served) -> None:
    latin1 = json.dumps({"sku": COLA, "fields": {"name": "Café"}}, ensure_ascii=False)
    body = refused(
        hub.client.post("/api/catalog/items", content=latin1.encode("latin-1"), headers=JSON),
        400,
    )
    assert "UTF-8" in body["message"] and "UTF-8" in body["message_zh"]
    gbk = json.dumps({"sku": COLA, "qty": 1, "actor": "收银员"}, ensure_ascii=False)
    refused(node.client.post("/api/stock/receive", content=gbk.encode("gbk"), headers=JSON), 400)


@pytest.mark.parametrize(
    "qty", [b"[" * 100_000 + b"]" * 100_000, b"9" * 100_000], ids=["nested", "100k-digits"]
)
def test_json_that_the_parser_gives_up_on_is_refused(node: Served, qty: bytes) -> None:
    receive = b'{"sku": "%s", "qty": %s}' % (COLA.encode(), qty)
    body = refused(node.client.post("/api/stock/receive", content=receive, headers=JSON), 400)
    assert "JSON" in body["message"] and "JSON" in body["message_zh"]


def test_broken_json_is_refused(node: Served) -> None:
    body = refused(node.client.post("/api/sales", content=b'{"lines": [', headers=JSON), 422)
    assert "JSON" in body["message"] and "JSON" in body["message_zh"]


def test_a_lone_surrogate_is_refused(hub: Served) -> None:
    item = b'{"sku": "%s", "fields": {"name": "\\ud800"}}' % COLA.encode()
    refused(hub.client.post("/api/catalog/items", content=item, headers=JSON), 422)


@pytest.mark.parametrize("text", ["可乐\x00", "可乐\n330ml", "\x1b[31m"])
def test_control_characters_in_text_are_refused(hub: Served, text: str) -> None:
    """A NUL would be refused by PostgreSQL at the hub: never let one into an op."""
    before = hub_head(hub)
    item = {"sku": COLA, "fields": {"name": text}}
    refused(hub.client.post("/api/catalog/items", json=item), 422)
    refused(hub.client.post("/api/catalog/items", json={**item, "actor": text}), 422)
    assert hub_head(hub) == before


# --- fields ----------------------------------------------------------------------------


def test_an_unknown_catalog_field_is_refused_and_named(hub: Served) -> None:
    before = hub_head(hub)
    item = {"sku": COLA, "fields": {"name": "可乐", "colour": "red"}}
    body = refused(hub.client.post("/api/catalog/items", json=item), 422)
    assert body["fields"] == ["fields.colour"] and "colour" in body["message_zh"]
    assert hub_head(hub) == before


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"price_fen": True}, "fields.price_fen"),
        ({"price_fen": "12"}, "fields.price_fen"),
        ({"price_fen": 1.5}, "fields.price_fen"),
        ({"price_fen": -1}, "fields.price_fen"),
        ({"price_fen": 10**30}, "fields.price_fen"),
        ({"name": "x" * 201}, "fields.name"),
        ({"barcode": "69 01"}, "fields.barcode"),
    ],
)
def test_a_bad_catalog_field_is_refused_and_named(
    hub: Served, fields: dict[str, Any], named: str
) -> None:
    before = hub_head(hub)
    item = {"sku": COLA, "fields": fields}
    assert refused(hub.client.post("/api/catalog/items", json=item), 422)["fields"] == [named]
    assert hub_head(hub) == before


def test_an_unknown_top_level_field_is_refused(node: Served) -> None:
    body = {"sku": COLA, "qty": 1, "on_hand": 999}
    assert refused(node.client.post("/api/stock/receive", json=body), 422)["fields"] == ["on_hand"]


@pytest.mark.parametrize("fields", [{}, {"name": None}], ids=["empty", "null"])
def test_a_catalog_write_that_changes_nothing_is_refused(
    hub: Served, fields: dict[str, Any]
) -> None:
    before = hub_head(hub)
    refused(hub.client.post("/api/catalog/items", json={"sku": COLA, "fields": fields}), 422)
    assert hub_head(hub) == before


def test_a_sku_with_spaces_or_slashes_is_refused(node: Served) -> None:
    for sku in ["COLA 330", "../etc", ""]:
        refused(node.client.post("/api/stock/receive", json={"sku": sku, "qty": 1}), 422)


# --- the rest of the HTTP layer --------------------------------------------------------


def test_a_reused_sale_id_with_another_body_is_a_conflict(node: Served) -> None:
    first = {"sale_id": "till-9-0001", "lines": [{"sku": COLA, "qty": 1}]}
    assert node.client.post("/api/sales", json=first).status_code == 200
    again = node.client.post("/api/sales", json=first)
    assert again.status_code == 200 and again.json()["replayed"] is True
    other = {**first, "lines": [{"sku": COLA, "qty": 2}]}
    refused(node.client.post("/api/sales", json=other), 409)


def test_a_wrong_method_answers_405_with_allow(node: Served) -> None:
    answer = node.client.delete("/api/stock")
    refused(answer, 405)
    assert answer.headers["allow"] == "GET"


def test_the_openapi_document_lists_the_api_and_its_error_answers(
    node: Served, hub: Served
) -> None:
    for served in (node, hub):
        doc = served.client.get("/openapi.json").json()
        assert all(p.startswith("/api/") or p == "/healthz" for p in doc["paths"]), doc["paths"]
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                takes_input = "requestBody" in operation or operation.get("parameters")
                if takes_input:
                    error = operation["responses"]["422"]["content"]["application/json"]
                    assert error["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (
                        method,
                        path,
                    )
                if "requestBody" in operation:
                    assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
        assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_a_validation_answer_names_at_most_ten_fields() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "lines", i, "sku"), "msg": "Field required"}
        for i in range(25)
    ]
    body = validation_error_body(errors)
    assert len(body["fields"]) == 10
    assert "15 more" in body["message"] and "另有 15 处" in body["message_zh"]
