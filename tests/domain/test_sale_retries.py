"""A till that lost the answer retries with the same sale id and gets the same answer;
the same id for a different sale is refused; nothing is written twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import Conflict
from domain.registry import REGISTRY
from domain.sales.rules import CartLine
from edge.services.sales import record_sale
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import stock_of


@pytest.fixture
def store_with_catalog(tmp_path: Path) -> Iterator[ReplicaStore]:
    """A store node whose catalog (from the hub) prices water at ¥2 and cola at ¥3.50."""
    hub_key = NodeKey.generate()
    ledger = ReplicaStore(
        f"sqlite:///{tmp_path}/ledger.db",
        origin="store-1",
        key=NodeKey.generate(),
        registry=REGISTRY,
    )
    ledger.enroll("cloud", hub_key.public_b64)
    items = {"WATER": ("矿泉水", 200), "COLA": ("可乐", 350)}
    ledger.apply(
        [
            hub_key.sign(
                Op(
                    "cloud",
                    i,
                    i,
                    "catalog.item_set",
                    1,
                    "hq",
                    {"sku": sku, "fields": {"name": name, "price_fen": price}},
                )
            )
            for i, (sku, (name, price)) in enumerate(items.items(), start=1)
        ]
    )
    yield ledger
    ledger.close()


CART = [CartLine("WATER", 2), CartLine("COLA", 1)]


def test_a_sale_without_an_id_gets_a_new_uuid7(store_with_catalog: ReplicaStore) -> None:
    sale = record_sale(store_with_catalog, "store-1", CART, "t")
    assert len(sale.sale_id) == 36 and sale.sale_id[14] == "7"
    assert sale.total_fen == 750 and not sale.replayed


def test_a_retried_sale_returns_the_original_answer_in_full(
    store_with_catalog: ReplicaStore,
) -> None:
    first = record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    again = record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    assert again.replayed and not first.replayed
    assert (again.sale_id, again.lines, again.total_fen, again.op_seq) == (
        first.sale_id,
        first.lines,
        first.total_fen,
        first.op_seq,
    )


def test_a_retry_writes_nothing(store_with_catalog: ReplicaStore) -> None:
    record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    ops, stock = store_with_catalog.count_ops(), stock_of(store_with_catalog)
    record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    assert store_with_catalog.count_ops() == ops
    assert (
        stock_of(store_with_catalog)
        == stock
        == {
            ("WATER", "store-1"): -2,
            ("COLA", "store-1"): -1,
        }
    )


def test_the_same_id_with_other_lines_is_a_conflict(store_with_catalog: ReplicaStore) -> None:
    record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    with pytest.raises(Conflict) as refused:
        record_sale(
            store_with_catalog, "store-1", [CartLine("WATER", 5)], "t", sale_id="till-1-0042"
        )
    assert "till-1-0042" in refused.value.message and "新的单号" in refused.value.message_zh


def test_the_same_id_with_another_payment_is_a_conflict(store_with_catalog: ReplicaStore) -> None:
    record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    with pytest.raises(Conflict):
        record_sale(
            store_with_catalog, "store-1", CART, "t", payment="wechat", sale_id="till-1-0042"
        )


def test_a_retry_after_a_price_change_answers_the_price_it_was_rung_at(
    store_with_catalog: ReplicaStore,
) -> None:
    first = record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    with store_with_catalog.write() as txn:  # stands in for a later hub price change
        txn.append("catalog.item_set", {"sku": "WATER", "fields": {"price_fen": 999}}, "t")
    again = record_sale(store_with_catalog, "store-1", CART, "t", sale_id="till-1-0042")
    assert again.total_fen == first.total_fen == 750
