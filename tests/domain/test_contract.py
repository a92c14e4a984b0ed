"""The contract every business area keeps, on SQLite and on PostgreSQL (DESIGN §1):
rebuilding from the ops gives the live tables; any order and any duplication of the
same ops gives the same state; an op of a newer version keeps its unknown fields; an
op of a kind no area knows is stored and relayed."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import select

from domain.area import DomainArea, LocalArea
from domain.registry import REGISTRY
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.domain.conftest import MakeStore
from tests.domain.histories import history

# The business areas: each folds its ops into projection tables. (A LocalArea, such as
# access, holds the replica's own state and folds nothing.)
BUSINESS = [area for area in REGISTRY.areas if isinstance(area, DomainArea)]
AREAS = [area.name for area in BUSINESS]


def tables_of(store: ReplicaStore, area: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the area's projection tables, in key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in REGISTRY.area(area).tables:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


def apply_in_random_batches(store: ReplicaStore, ops: list[Op], seed: int) -> None:
    rng = random.Random(seed)
    arrivals = ops + rng.sample(ops, k=len(ops) // 3)  # duplicates
    rng.shuffle(arrivals)
    while arrivals:
        size = rng.randint(1, 7)
        store.apply(arrivals[:size])
        arrivals = arrivals[size:]


def test_every_business_area_declares_tables_and_kinds() -> None:
    assert {"catalog", "stock", "sales", "staff"} <= set(AREAS)
    for area in BUSINESS:
        assert area.kinds and area.tables and area.migrations is not None


def test_a_local_area_has_its_own_schema_and_no_projection() -> None:
    local = [area for area in REGISTRY.areas if isinstance(area, LocalArea)]
    assert [area.name for area in local] == ["access"]
    for area in local:
        assert area.migrations is not None and area.tables == ()


@pytest.mark.parametrize("area", AREAS)
def test_rebuilding_from_the_ops_gives_the_live_tables(area: str, make_store: MakeStore) -> None:
    store = make_store()
    store.apply(history(area, seed=1))
    live = tables_of(store, area)
    assert any(live.values()), "the history must fold into something"
    store.rebuild_projections()
    assert tables_of(store, area) == live


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_any_order_and_duplication_of_the_ops_gives_the_same_state(
    area: str, seed: int, make_store: MakeStore
) -> None:
    ops = history(area, seed=seed)
    in_order = make_store()
    in_order.apply(ops)
    shuffled = make_store()
    apply_in_random_batches(shuffled, ops, seed)
    assert shuffled.version_vector() == in_order.version_vector()
    assert tables_of(shuffled, area) == tables_of(in_order, area)


def test_two_origins_using_the_same_sale_id_both_keep_their_sale(make_store: MakeStore) -> None:
    hub = make_store()
    body = {
        "sale_id": "till-1-0001",
        "lines": [{"sku": "A", "name": "水", "qty": 1, "unit_price_fen": 200, "amount_fen": 200}],
        "total_fen": 200,
    }
    for origin in ("store-1", "store-2"):
        key = NodeKey.generate()
        hub.apply(
            [key.sign(Op(origin, 1, 1, "sale.completed", 1, "t", {**body, "location": origin}))]
        )
    rows = tables_of(hub, "sales")["sales"]
    assert [(r[0], r[1]) for r in rows] == [("store-1", "till-1-0001"), ("store-2", "till-1-0001")]


def test_an_op_of_a_newer_version_keeps_its_unknown_fields(make_store: MakeStore) -> None:
    key = NodeKey.generate()
    newer = key.sign(
        Op(
            "store-1",
            1,
            5,
            "stock.moved",
            2,
            "t",
            {"sku": "A", "location": "store-1", "qty": 4, "reason": "receive", "bin": "A-01-03"},
        )
    )
    hub = make_store()
    hub.enroll("store-1", key.public_b64)
    hub.apply([newer])
    relayed = hub.ops_after({})
    assert relayed == [newer]  # byte for byte: the signature still verifies
    hub.keyring().verify(relayed[0])
    assert tables_of(hub, "stock")["stock_levels"] == [("A", "store-1", 4)]


def test_an_op_of_an_unknown_kind_is_stored_and_relayed(make_store: MakeStore) -> None:
    key = NodeKey.generate()
    future = key.sign(Op("store-1", 1, 5, "points.earned", 1, "t", {"member": "m1", "points": 7}))
    hub = make_store()
    hub.apply([future])
    assert hub.ops_after({}) == [future]
    node = make_store("store-2")
    node.apply(hub.ops_after({}))
    assert node.all_ops() == [future]
    assert all(rows == [] for area in AREAS for rows in tables_of(node, area).values())


def test_a_kind_is_owned_by_one_area() -> None:
    from sync_protocol.errors import ConfigurationError
    from sync_protocol.registry import Registry

    stock = REGISTRY.area("stock")
    with pytest.raises(ConfigurationError, match=r"stock\.moved"):
        Registry([stock, stock])
