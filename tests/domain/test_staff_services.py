"""A manager creates staff at the hub; at a node, offline, they log in by PIN, wrong
PINs back off and lock, and a supervisor's PIN authorises an action or unlocks."""

from __future__ import annotations

import re

import pytest

from cloud.services.staff import change_staff, create_staff
from domain.errors import BusinessRuleError, Conflict, NotFound
from domain.staff.pins import WeakPin
from domain.staff.rules import BACKOFF_FIRST_MS
from edge.services.staff import (
    NotAnAuthoriser,
    PinBackoff,
    PinRefused,
    StaffLocked,
    authorise,
    log_in,
    unlock,
)
from sync_protocol.hlc import system_ms
from sync_protocol.store import ReplicaStore
from tests.domain.conftest import MakeStore

NOW = 1_800_000_000_000  # a till's clock, ahead of the stamps: back-offs long past


@pytest.fixture
def hub_and_node(make_store: MakeStore) -> tuple[ReplicaStore, ReplicaStore]:
    """A hub with a cashier (PIN 482913) and a supervisor (PIN 730518), and a node that
    received them and is offline from then on."""
    hub, node = make_store("cloud"), make_store("store-1")
    create_staff(hub, "c001", name="王芳", role="cashier", pin="482913", actor="admin")
    create_staff(hub, "s001", name="李主管", role="supervisor", pin="730518", actor="admin")
    node.apply(hub.all_ops())
    return hub, node


def kinds_written(node: ReplicaStore) -> list[str]:
    return [op.kind for op in node.all_ops() if op.origin == node.origin]


def fail(node: ReplicaStore, times: int, *, at: int = NOW) -> None:
    for i in range(times):
        with pytest.raises(PinRefused):
            log_in(node, "c001", "000111", now_ms=at + i)


# --- at the hub ------------------------------------------------------------------------


def test_an_account_id_is_taken_once(hub_and_node: tuple[ReplicaStore, ReplicaStore]) -> None:
    hub, _ = hub_and_node
    with pytest.raises(Conflict):
        create_staff(hub, "c001", name="别人", role="cashier", pin="563920", actor="admin")


def test_a_weak_pin_is_refused_when_the_account_is_made(make_store: MakeStore) -> None:
    with pytest.raises(WeakPin):
        create_staff(make_store(), "c009", name="新人", role="cashier", pin="123456", actor="a")


def test_changing_an_unknown_account_is_not_found(make_store: MakeStore) -> None:
    with pytest.raises(NotFound):
        change_staff(make_store(), "nobody", actor="admin", name="x")


def test_a_bad_staff_id_is_refused_with_the_rule(make_store: MakeStore) -> None:
    with pytest.raises(BusinessRuleError, match="1-32 letters") as caught:
        create_staff(make_store(), "王 芳", name="王芳", role="cashier", pin="563920", actor="a")
    assert "员工编号" in caught.value.message_zh


# --- at the node -----------------------------------------------------------------------


def test_the_right_pin_logs_in_offline_and_is_recorded(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    who = log_in(node, "c001", "482913", now_ms=NOW)
    assert (who.staff_id, who.name, who.role) == ("c001", "王芳", "cashier")
    assert kinds_written(node) == ["staff.pin_accepted"]


def test_a_wrong_pin_and_an_unknown_id_get_the_same_answer_and_are_recorded(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    with pytest.raises(PinRefused) as wrong_pin:
        log_in(node, "c001", "999999", now_ms=NOW)
    with pytest.raises(PinRefused) as unknown_id:
        log_in(node, "c777", "482913", now_ms=NOW)
    assert wrong_pin.value.message == unknown_id.value.message == "wrong staff id or PIN"
    assert kinds_written(node) == ["staff.pin_failed", "staff.pin_failed"]


def test_a_deactivated_account_is_refused_like_a_wrong_pin(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    hub, node = hub_and_node
    change_staff(hub, "c001", actor="admin", active=False)
    node.apply(hub.ops_range("cloud", node.head("cloud") + 1, hub.head("cloud")))
    with pytest.raises(PinRefused):
        log_in(node, "c001", "482913", now_ms=NOW)


def test_after_five_wrong_pins_the_next_try_waits_and_checks_nothing(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    now = system_ms()  # back-off runs from the stamps of the wrong PINs: the real clock's
    fail(node, 5, at=now)
    with pytest.raises(PinBackoff) as waiting:
        log_in(node, "c001", "482913", now_ms=now + 10_000)
    assert 10_000 <= waiting.value.wait_ms <= BACKOFF_FIRST_MS
    assert re.fullmatch(r"PIN 错误次数过多，请 \d+ 秒后再试", waiting.value.message_zh)
    assert kinds_written(node).count("staff.pin_failed") == 5  # the refused try wrote nothing
    later = system_ms() + BACKOFF_FIRST_MS
    assert log_in(node, "c001", "482913", now_ms=later).staff_id == "c001"


def test_twenty_wrong_pins_lock_until_a_supervisor_unlocks(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    at = NOW
    for _ in range(20):
        at += 16 * 60_000  # past the longest back-off each time
        with pytest.raises(PinRefused):
            log_in(node, "c001", "000111", now_ms=at)
    with pytest.raises(StaffLocked) as locked:
        log_in(node, "c001", "482913", now_ms=at + 10**9)
    assert "须由主管解锁" in locked.value.message_zh
    unlock(node, "c001", supervisor_id="s001", supervisor_pin="730518", now_ms=at + 1)
    assert log_in(node, "c001", "482913", now_ms=at + 2).staff_id == "c001"
    (unlocked,) = [op for op in node.all_ops() if op.kind == "staff.unlocked"]
    assert unlocked.body["by"] == "s001" and unlocked.actor == "s001"


def test_the_wrong_pin_that_locks_an_account_is_recorded_as_a_lock_out_once(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    at = NOW
    for _ in range(19):
        at += 16 * 60_000
        with pytest.raises(PinRefused):
            log_in(node, "c001", "000111", now_ms=at)
    assert "staff.locked_out" not in kinds_written(node)
    with pytest.raises(PinRefused):
        log_in(node, "c001", "000111", now_ms=at + 16 * 60_000)
    (locked,) = [op for op in node.all_ops() if op.kind == "staff.locked_out"]
    assert locked.body == {"staff_id": "c001", "location": node.origin}
    with pytest.raises(StaffLocked):  # refused before any check: nothing more written
        log_in(node, "c001", "000111", now_ms=at + 10**9)
    assert kinds_written(node).count("staff.locked_out") == 1


def test_a_wrong_pin_for_an_id_that_names_no_account_keeps_no_trace_of_the_id(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    with pytest.raises(PinRefused):
        log_in(node, "482913", "482913", now_ms=NOW)  # a PIN typed into the ID field
    (tried,) = [op for op in node.all_ops() if op.kind == "staff.pin_failed"]
    assert tried.body["staff_id"] == "_unknown" and tried.actor == "_unknown"


def test_a_cashier_cannot_unlock_or_authorise(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    with pytest.raises(NotAnAuthoriser):
        authorise(node, "c001", "482913", now_ms=NOW)
    with pytest.raises(NotAnAuthoriser):
        unlock(node, "c001", supervisor_id="c001", supervisor_pin="482913", now_ms=NOW)
    assert "staff.unlocked" not in kinds_written(node)


def test_a_supervisor_pin_authorises_without_touching_the_cashiers_login(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    log_in(node, "c001", "482913", now_ms=NOW)
    assert authorise(node, "s001", "730518", now_ms=NOW + 1).staff_id == "s001"
    with pytest.raises(PinRefused):
        authorise(node, "s001", "111222", now_ms=NOW + 2)


def test_an_id_that_cannot_be_one_is_refused_without_a_record(
    hub_and_node: tuple[ReplicaStore, ReplicaStore],
) -> None:
    _, node = hub_and_node
    with pytest.raises(PinRefused):
        log_in(node, "' OR 1=1 --", "482913", now_ms=NOW)
    assert kinds_written(node) == []
