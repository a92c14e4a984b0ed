"""`POST /api/checkout` on a node served for real: a till's token rings up a sale paid by
several tenders; a discount over the cashier's limit is answered NeedsAuthorisation and
passes with a supervisor's PIN; a retry replays; a token without the sales scope is
refused. One node serves the module, its catalog and staff written at its hub."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from edge.app import create_app
from edge.scopes import STOCK_READ
from edge.settings import EdgeSettings
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.support.access import (
    CASHIER,
    SUPERVISOR,
    bearer,
    hub_signed_catalog_and_staff,
    node_token,
)
from tests.support.serving import serving

CATALOG = {"6901234567890": ("农夫山泉 550ml", 200), "6902538005141": ("可口可乐 330ml", 350)}
WATER, COLA = CATALOG


@dataclass
class Served:
    app: FastAPI
    url: str
    token: str

    @property
    def ledger(self) -> ReplicaStore:
        ledger: ReplicaStore = self.app.state.node.ledger
        return ledger


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("checkout-node")
    key = NodeKey.generate()
    ops = hub_signed_catalog_and_staff(base, key, CATALOG, CASHIER, SUPERVISOR)
    settings = EdgeSettings(
        data_dir=base / "store-1", node_id="store-1", hub_public_key=key.public_b64
    )
    app = create_app(settings, with_sync=False)
    app.state.node.ledger.apply(ops)
    with serving(app) as url:
        yield Served(app, url, node_token(app.state.node.ledger))


@pytest.fixture
def till(node: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30, headers=bearer(node.token)) as client:
        yield client


def checkout(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/api/checkout", json=body)


# 20 % off ten bottles of water (¥20.00): a cashier may give 10 %, a supervisor 30 %
OVER_LIMIT: dict[str, Any] = {
    "lines": [{"sku": WATER, "qty": 10, "discount": {"percent": 20, "reason": "临期"}}],
    "tenders": [{"type": "cash", "tendered_fen": 2000}],
}


def test_a_token_without_the_sales_scope_may_not_check_out(node: Served) -> None:
    token = node_token(node.ledger, {STOCK_READ})
    with httpx.Client(base_url=node.url, timeout=30, headers=bearer(token)) as client:
        answer = checkout(client, lines=[{"sku": WATER}], tenders=[])
    assert answer.status_code == 403


def test_a_sale_paid_by_wechat_and_cash_answers_its_tenders_and_change(
    till: httpx.Client,
) -> None:
    answer = checkout(
        till,
        lines=[{"sku": WATER, "qty": 2}, {"sku": COLA}],
        tenders=[
            {"type": "cash", "tendered_fen": 1000},
            {"type": "wechat", "amount_fen": 500, "reference": "wx4200009876"},
        ],
    )
    assert answer.status_code == 200, answer.text
    sale = answer.json()
    assert (sale["total_fen"], sale["change_fen"], sale["payment"]) == (750, 750, "wechat")
    assert [t["type"] for t in sale["tenders"]] == ["wechat", "cash"]


def test_a_discount_over_the_cashiers_limit_answers_needs_authorisation(
    till: httpx.Client,
) -> None:
    answer = checkout(till, **OVER_LIMIT)
    assert answer.status_code == 422
    refused = answer.json()
    assert refused["error"] == "NeedsAuthorisation"
    assert (refused["action"], refused["limit_role"]) == ("discount_over_limit", "cashier")
    assert refused["fields"] == ["lines[0].discount"]
    assert "请主管授权" in refused["message_zh"]


def test_the_same_sale_with_a_supervisors_pin_records_who_authorised_it(
    till: httpx.Client,
) -> None:
    authoriser = {"staff_id": SUPERVISOR[0], "pin": SUPERVISOR[3]}
    answer = checkout(till, **OVER_LIMIT, authoriser=authoriser)
    assert answer.status_code == 200, answer.text
    sale = answer.json()
    assert sale["total_fen"] == 1600
    assert [(a["by"], a["role"], a["fen"]) for a in sale["authorised"]] == [
        (SUPERVISOR[0], "supervisor", 400)
    ]


def test_a_wrong_supervisor_pin_sells_nothing(node: Served, till: httpx.Client) -> None:
    before = node.ledger.count_ops()
    answer = checkout(till, **OVER_LIMIT, authoriser={"staff_id": SUPERVISOR[0], "pin": "111111"})
    assert (answer.status_code, answer.json()["error"]) == (422, "PinRefused")
    kinds = [op.kind for op in node.ledger.all_ops()[before:]]
    assert "sale.completed" not in kinds


def test_a_retry_with_the_same_sale_id_replays_the_sale(till: httpx.Client) -> None:
    body = {"lines": [{"sku": COLA}], "tenders": [{"type": "cash", "tendered_fen": 500}]}
    first = checkout(till, **body, sale_id="till-9-0001").json()
    again = checkout(till, **body, sale_id="till-9-0001").json()
    assert again == {**first, "replayed": True}


def test_another_sale_under_a_used_sale_id_is_a_conflict(till: httpx.Client) -> None:
    checkout(
        till,
        lines=[{"sku": COLA}],
        tenders=[{"type": "cash", "tendered_fen": 500}],
        sale_id="till-9-0002",
    )
    answer = checkout(
        till,
        lines=[{"sku": WATER}],
        tenders=[{"type": "cash", "tendered_fen": 500}],
        sale_id="till-9-0002",
    )
    assert (answer.status_code, answer.json()["error"]) == (409, "Conflict")


def test_a_line_with_both_a_sku_and_a_code_is_refused_as_invalid(till: httpx.Client) -> None:
    answer = checkout(till, lines=[{"sku": COLA, "code": "2000123019871"}], tenders=[])
    assert (answer.status_code, answer.json()["error"]) == (422, "RequestValidationError")
