"""The audit trail, read from the op log: each audited act once, with who, what, when,
where and who authorised it; searchable; exported as CSV that Excel reads in Chinese."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Select, event

from cloud.services.catalog import set_catalog_item
from cloud.services.staff import create_staff
from domain.audit import trail as trail_module
from domain.audit.trail import CSV_HEADER, audit_csv, audit_trail
from domain.catalog.kinds import ItemFields
from edge.services.staff import PinRefused, log_in, unlock
from sync_protocol.hlc import system_ms
from sync_protocol.store import ReplicaStore
from tests.domain.conftest import MakeStore


def adjust_stock(node: ReplicaStore, sku: str, qty: int, reason: str, actor: str) -> None:
    with node.write() as txn:
        txn.append(
            "stock.moved",
            {"sku": sku, "location": node.origin, "qty": qty, "reason": reason},
            actor,
        )


@pytest.fixture
def hub(make_store: MakeStore) -> ReplicaStore:
    """The hub after a day: staff made, a price set, and a node's day synced to it."""
    hub, node = make_store("cloud"), make_store("store-1")
    create_staff(hub, "c001", name="王芳", role="cashier", pin="482913", actor="admin")
    create_staff(hub, "s001", name="李主管", role="supervisor", pin="730518", actor="admin")
    set_catalog_item(hub, "COLA-330", ItemFields(price_fen=350), "ops.zhang")
    node.apply(hub.all_ops())
    with pytest.raises(PinRefused):
        log_in(node, "c001", "000111")
    log_in(node, "c001", "482913")
    unlock(node, "c001", supervisor_id="s001", supervisor_pin="730518")
    adjust_stock(node, "COLA-330", -2, "adjust", "c001")
    adjust_stock(node, "COLA-330", 24, "receive", "c001")  # business, not audit
    hub.apply(node.ops_range("store-1", 1, node.head("store-1")))
    return hub


def test_each_audited_act_shows_once_newest_first(hub: ReplicaStore) -> None:
    with hub.read() as conn:
        trail = audit_trail(conn)
    assert [(e.action, e.subject) for e in trail] == [
        ("stock_adjusted", "COLA-330"),
        ("staff_unlocked", "c001"),
        ("login", "s001"),  # the supervisor's PIN, checked for the unlock
        ("login", "c001"),
        ("pin_failed", "c001"),
        ("catalog_changed", "COLA-330"),
        ("staff_changed", "s001"),
        ("staff_changed", "c001"),
    ]


def test_an_entry_says_who_where_and_who_authorised(hub: ReplicaStore) -> None:
    with hub.read() as conn:
        (unlocked,) = audit_trail(conn, action="staff_unlocked")
        (adjusted,) = audit_trail(conn, action="stock_adjusted")
        (priced,) = audit_trail(conn, action="catalog_changed")
    assert (unlocked.actor, unlocked.location, unlocked.authorised_by) == (
        "s001",
        "store-1",
        "s001",
    )
    assert (adjusted.actor, adjusted.location, adjusted.detail) == (
        "c001",
        "store-1",
        "qty -2 (adjust)",
    )
    assert (priced.actor, priced.location, priced.detail) == ("ops.zhang", "cloud", "price_fen=350")


def test_a_staff_change_never_shows_the_pin_hash(hub: ReplicaStore) -> None:
    with hub.read() as conn:
        changes = audit_trail(conn, action="staff_changed")
    assert changes and all(
        "argon2" not in e.detail and "pin_hash=(changed)" in e.detail for e in changes
    )


def test_the_trail_filters_by_actor_place_and_time(hub: ReplicaStore) -> None:
    with hub.read() as conn:
        by_cashier = audit_trail(conn, actor="c001")
        at_store = audit_trail(conn, location="store-1")
        at_hq = audit_trail(conn, location="cloud")
        future = audit_trail(conn, since_ms=system_ms() + 60_000)
        one = audit_trail(conn, limit=1)
    assert {e.actor for e in by_cashier} == {"c001"} and len(by_cashier) == 3
    assert {e.location for e in at_store} == {"store-1"} and len(at_store) == 5
    assert {e.action for e in at_hq} == {"staff_changed", "catalog_changed"}
    assert future == [] and len(one) == 1


def test_the_csv_opens_in_excel_with_chinese_headers(hub: ReplicaStore) -> None:
    with hub.read() as conn:
        text = audit_csv(audit_trail(conn))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == 9
    assert rows[1][1:5] == ["c001", "stock_adjusted", "COLA-330", "store-1"]


def test_a_trail_longer_than_a_page_reads_as_in_one_page(
    hub: ReplicaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hub.read() as conn:
        whole = audit_trail(conn)
    monkeypatch.setattr(trail_module, "_SCAN_CHUNK", 3)
    with hub.read() as conn:
        assert audit_trail(conn) == whole


def test_an_op_written_while_the_trail_is_read_skips_and_repeats_nothing(
    hub: ReplicaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL each page sees what was committed before it (read committed): a
    page counted by offset would read one entry twice after a newer op came in."""
    with hub.read() as conn:
        before = audit_trail(conn)
    monkeypatch.setattr(trail_module, "_SCAN_CHUNK", 3)
    pages: list[object] = []

    def a_price_changes_after_the_first_page(_conn: object, statement: object, *_: object) -> None:
        if isinstance(statement, Select):
            pages.append(statement)
            if len(pages) == 1:
                set_catalog_item(hub, "COLA-330", ItemFields(price_fen=360), "ops.zhang")

    with hub.read() as conn:
        event.listen(conn, "after_execute", a_price_changes_after_the_first_page)
        during = audit_trail(conn)
    assert len(pages) > 1  # the write came between pages
    # The new change is newer than where the reading began: the trail as it was, each once.
    assert during == before
