"""Staff accounts and PIN checks: accounts come from the hub only, PINs are kept as
Argon2id hashes, and back-off and lock-out come out the same on every replica."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from domain.staff.kinds import StaffFields
from domain.staff.pins import WeakPin, hash_pin, pin_matches
from domain.staff.queries import gate_of, staff_account, staff_accounts
from domain.staff.rules import (
    BACKOFF_FIRST_MS,
    BACKOFF_MAX_MS,
    LOCK_AFTER,
    backoff_ms,
    login_gate,
    login_gates,
)
from sync_protocol.hlc import pack
from sync_protocol.store import ReplicaStore
from tests.domain.conftest import MakeStore
from tests.domain.histories import history

T0 = 1_700_000_000_000


def stamp(wall_ms: int) -> int:
    return pack(wall_ms, 0)


def set_account(hub: ReplicaStore, staff_id: str, **fields: object) -> None:
    with hub.write() as txn:
        txn.append("staff.member_set", {"staff_id": staff_id, "fields": fields}, "manager")


def check_pin(store: ReplicaStore, staff_id: str, *, right: bool) -> None:
    kind = "staff.pin_accepted" if right else "staff.pin_failed"
    with store.write() as txn:
        txn.append(kind, {"staff_id": staff_id, "location": store.origin}, staff_id)


# --- PINs ------------------------------------------------------------------------------


def test_a_pin_is_kept_as_an_argon2id_hash_that_matches_only_it() -> None:
    hashed = hash_pin("482913")
    assert hashed.startswith("$argon2id$") and "482913" not in hashed
    assert pin_matches("482913", hashed)
    assert not pin_matches("482914", hashed)


def test_the_same_pin_hashes_differently_each_time() -> None:
    assert hash_pin("482913") != hash_pin("482913")  # salted


@pytest.mark.parametrize("pin", ["12345", "48291a", "4829 13", "1234567890123", "", "４８２９１３"])
def test_a_pin_must_be_six_to_twelve_digits(pin: str) -> None:
    with pytest.raises(WeakPin, match="6 to 12 digits") as caught:
        hash_pin(pin)
    assert caught.value.message_zh == "PIN 须为 6 至 12 位数字"


@pytest.mark.parametrize("pin", ["000000", "777777", "123456", "654321", "3456789"])
def test_a_pin_may_not_be_a_repeated_digit_or_a_run(pin: str) -> None:
    with pytest.raises(WeakPin, match="repeated or a run"):
        hash_pin(pin)


def test_a_malformed_hash_matches_nothing_instead_of_crashing() -> None:
    assert not pin_matches("482913", "$argon2id$v=19$broken")


def test_an_account_write_refuses_a_plain_pin_where_a_hash_belongs() -> None:
    with pytest.raises(ValidationError):
        StaffFields(pin_hash="482913")
    with pytest.raises(ValidationError):
        StaffFields(role="owner")  # type: ignore[arg-type]
    assert StaffFields(pin_hash=hash_pin("482913"), role="cashier").changes()["role"] == "cashier"


# --- back-off and lock-out, as rules ---------------------------------------------------


def test_four_wrong_pins_cost_nothing() -> None:
    gate = login_gate([stamp(T0 + i) for i in range(4)], reset_stamp=0)
    assert gate.open_at(T0 + 4) and gate.retry_at_ms is None


def test_the_fifth_wrong_pin_makes_the_next_try_wait_thirty_seconds() -> None:
    gate = login_gate([stamp(T0 + i * 1000) for i in range(5)], reset_stamp=0)
    assert gate.retry_at_ms == T0 + 4000 + BACKOFF_FIRST_MS
    assert not gate.open_at(T0 + 4000 + BACKOFF_FIRST_MS - 1)
    assert gate.open_at(T0 + 4000 + BACKOFF_FIRST_MS)
    assert gate.wait_ms(T0 + 4000) == BACKOFF_FIRST_MS


def test_each_further_wrong_pin_doubles_the_wait_up_to_fifteen_minutes() -> None:
    assert [backoff_ms(n) for n in (5, 6, 7, 8)] == [30_000, 60_000, 120_000, 240_000]
    assert backoff_ms(19) == BACKOFF_MAX_MS == 15 * 60_000


def test_the_twentieth_wrong_pin_locks_the_account_until_unlocked() -> None:
    gate = login_gate([stamp(T0 + i) for i in range(LOCK_AFTER)], reset_stamp=0)
    assert gate.locked and not gate.open_at(T0 + 10**9)


def test_a_reset_clears_only_the_wrong_pins_before_it() -> None:
    failures = [stamp(T0 + i) for i in range(30)]
    gate = login_gate(failures, reset_stamp=stamp(T0 + 25))
    assert gate.failures == 4 and not gate.locked


# --- accounts and gates on a replica ---------------------------------------------------


def test_an_account_written_at_the_hub_reaches_a_node_with_its_hash_only(
    make_store: MakeStore,
) -> None:
    hub, node = make_store("cloud"), make_store("store-1")
    set_account(hub, "c001", name="王芳", role="cashier", pin_hash=hash_pin("482913"))
    node.apply(hub.all_ops())
    with node.read() as conn:
        account = staff_account(conn, "c001")
    assert account is not None and account.name == "王芳" and account.role == "cashier"
    assert account.can_log_in and pin_matches("482913", account.pin_hash or "")
    assert "482913" not in "".join(str(op.body) for op in node.all_ops())


def test_an_account_a_node_wrote_for_itself_counts_for_nothing(make_store: MakeStore) -> None:
    hub, rogue = make_store("cloud"), make_store("store-1")
    set_account(rogue, "x999", name="假经理", role="manager", pin_hash=hash_pin("482913"))
    set_account(hub, "c001", name="王芳", role="cashier")
    set_account(rogue, "c001", role="manager")  # a later stamp, from the wrong writer
    hub.apply(rogue.all_ops())
    with hub.read() as conn:
        assert staff_account(conn, "x999") is None
        assert [(a.staff_id, a.role) for a in staff_accounts(conn)] == [("c001", "cashier")]


def test_a_deactivated_account_cannot_log_in(make_store: MakeStore) -> None:
    hub = make_store("cloud")
    set_account(hub, "c001", name="王芳", role="cashier", pin_hash=hash_pin("482913"))
    set_account(hub, "c001", active=False)
    with hub.read() as conn:
        account = staff_account(conn, "c001")
    assert account is not None and not account.can_log_in


def test_wrong_pins_at_two_stores_add_up_once_they_sync(make_store: MakeStore) -> None:
    one, two = make_store("store-1"), make_store("store-2")
    for _ in range(12):
        check_pin(one, "c001", right=False)
    for _ in range(8):
        check_pin(two, "c001", right=False)
    with one.read() as conn:
        assert not gate_of(conn, "c001").locked
    one.apply(two.all_ops())
    with one.read() as conn:
        gate = gate_of(conn, "c001")
    assert gate.failures == 20 and gate.locked


def test_a_right_pin_anywhere_resets_the_count_on_every_replica(make_store: MakeStore) -> None:
    one, two = make_store("store-1"), make_store("store-2")
    for _ in range(6):
        check_pin(one, "c001", right=False)
    two.apply(one.all_ops())
    check_pin(two, "c001", right=True)
    one.apply(two.ops_range("store-2", 1, two.head("store-2")))
    for store in (one, two):
        with store.read() as conn:
            assert gate_of(conn, "c001").failures == 0


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_the_gates_on_a_replica_are_those_the_rules_give_in_any_arrival_order(
    make_store: MakeStore, seed: int
) -> None:
    ops = history("staff", seed=seed, n=120)
    store = make_store("cloud")
    arrivals = ops[:]
    random.Random(seed).shuffle(arrivals)
    for op in arrivals:  # one at a time, out of order: each origin's gaps held
        store.apply([op])
    expected = login_gates(ops)
    with store.read() as conn:
        assert {sid: gate_of(conn, sid) for sid in expected} == expected


def test_pins_are_hashed_with_owasps_argon2id_minimum_to_fit_a_pi() -> None:
    assert "$m=19456,t=2,p=1$" in hash_pin("482913")
