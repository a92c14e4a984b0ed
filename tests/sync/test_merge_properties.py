"""Any order and any duplication of the same ops folds to the same state."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog.rules import catalog as fold_catalog
from domain.registry import REGISTRY
from domain.stock.rules import stock_on_hand
from sync_protocol import merge
from sync_protocol.ops import Op
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import catalog_of, stock_of

ORIGINS = ("cloud", "store-1", "wh-1")
SKUS = ("A", "B")


@st.composite
def op_lists(draw: st.DrawFn) -> list[Op]:
    ops: list[Op] = []
    seqs = dict.fromkeys(ORIGINS, 0)
    last_hlc = dict.fromkeys(ORIGINS, 0)
    for _ in range(draw(st.integers(0, 25))):
        origin = draw(st.sampled_from(ORIGINS))
        seqs[origin] += 1
        # An origin's clock only moves forward; small steps make equal stamps across
        # origins common, so the origin tie-break is exercised.
        last_hlc[origin] += draw(st.integers(1, 3))
        hlc = last_hlc[origin]
        kind = draw(
            st.sampled_from(["stock.moved", "catalog.item_set", "tag.added", "tag.removed"])
        )
        if kind == "stock.moved":
            body: dict[str, object] = {
                "sku": draw(st.sampled_from(SKUS)),
                "location": draw(st.sampled_from(ORIGINS)),
                "qty": draw(st.integers(-50, 50)),
                "reason": "adjust",
            }
        elif kind == "catalog.item_set":
            fields = draw(
                st.dictionaries(
                    st.sampled_from(["name", "price_fen"]), st.integers(0, 999), min_size=1
                )
            )
            body = {"sku": draw(st.sampled_from(SKUS)), "fields": fields}
        elif kind == "tag.added":
            body = {"tag": draw(st.sampled_from(["vip", "wholesale"]))}
        else:
            seen = [list(op.id) for op in ops if op.kind == "tag.added"]
            observed = draw(st.lists(st.sampled_from(seen), max_size=3)) if seen else []
            body = {"tag": draw(st.sampled_from(["vip", "wholesale"])), "observed": observed}
        ops.append(Op(origin, seqs[origin], hlc, kind, 1, "t", body))
    return ops


def shuffled_with_duplicates(data: st.DataObject, ops: list[Op]) -> list[Op]:
    dupes = data.draw(st.lists(st.sampled_from(ops), max_size=10)) if ops else []
    return data.draw(st.permutations(ops + dupes))


def tag_state(ops: list[Op]) -> frozenset[object]:
    return merge.fold_set(ops, "tag.added", "tag.removed", "tag").elements


@given(op_lists(), st.data())
def test_stock_ledger_is_order_and_duplicate_insensitive(
    ops: list[Op], data: st.DataObject
) -> None:
    assert stock_on_hand(shuffled_with_duplicates(data, ops)) == stock_on_hand(ops)


@given(op_lists(), st.data())
def test_catalog_registers_converge_whatever_the_order(ops: list[Op], data: st.DataObject) -> None:
    assert fold_catalog(shuffled_with_duplicates(data, ops)) == fold_catalog(ops)


@given(op_lists(), st.data())
def test_add_wins_set_converges_whatever_the_order(ops: list[Op], data: st.DataObject) -> None:
    assert tag_state(shuffled_with_duplicates(data, ops)) == tag_state(ops)


def test_a_remove_does_not_remove_a_concurrent_add_it_did_not_observe() -> None:
    add_a = Op("store-1", 1, 5, "tag.added", 1, "t", {"tag": "vip"})
    add_b = Op("wh-1", 1, 6, "tag.added", 1, "t", {"tag": "vip"})
    remove_seen_a = Op(
        "cloud", 1, 7, "tag.removed", 1, "t", {"tag": "vip", "observed": [["store-1", 1]]}
    )
    assert tag_state([remove_seen_a, add_b, add_a]) == {"vip"}
    assert tag_state([add_a, remove_seen_a]) == frozenset()


def test_equal_hlc_is_broken_by_origin_so_replicas_agree() -> None:
    a = Op("store-1", 1, 9, "catalog.item_set", 1, "t", {"sku": "A", "fields": {"price_fen": 100}})
    b = Op("wh-1", 1, 9, "catalog.item_set", 1, "t", {"sku": "A", "fields": {"price_fen": 200}})
    assert fold_catalog([a, b]) == fold_catalog([b, a]) == {"A": {"price_fen": 200}}


@settings(max_examples=40, deadline=None)
@given(op_lists(), st.data())
def test_store_projections_equal_the_pure_fold_in_any_arrival_order(
    ops: list[Op], data: st.DataObject
) -> None:
    store = ReplicaStore("sqlite://", origin="observer", durable=False, registry=REGISTRY)
    try:
        for op in shuffled_with_duplicates(data, ops):
            store.apply([op])
        assert stock_of(store) == {k: v for k, v in stock_on_hand(ops).items()}
        assert catalog_of(store) == fold_catalog(ops)
        assert store.count_ops() == len(ops)
    finally:
        store.close()
