"""Members, as rules and as a projection: phones normalised to E.164 (+86 by default),
tiers by points earned over 12 months or a lifetime, earning and redeeming rates, strict
bounded bodies, and the member tables on SQLite and PostgreSQL agreeing with the pure
fold of the same ops."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from domain.errors import BusinessRuleError
from domain.members.config import DEFAULT_RULES, PointsRules, TierRule, rules_from_replicated
from domain.members.errors import InvalidPhone
from domain.members.kinds import (
    AllowanceMoved,
    MemberFields,
    PointsEarned,
    PointsReversed,
    PointsRulesSet,
)
from domain.members.queries import (
    allowances,
    balance,
    earnings,
    last_visits,
    member_by_phone,
    points_rules,
)
from domain.members.rules import (
    YEAR_MS,
    Earning,
    check_amount,
    check_points,
    earned_on_basis,
    effective_tier,
    fold_points,
    max_redeemable,
    member_profiles,
    normalise_phone,
    points_for_sale,
    split_reversal,
    tier_for,
    value_fen,
)
from domain.registry import REGISTRY
from sync_protocol.errors import InvalidOp
from sync_protocol.hlc import wall_ms_of
from tests.domain.conftest import MakeStore
from tests.domain.histories import PHONES, history

PHONE = "+8613800138000"
NOW = 1_800_000_000_000
DAY = 24 * 3_600_000


# --- phones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_a_chinese_mobile_is_read_as_plus_86_however_it_is_typed(typed: str) -> None:
    assert normalise_phone(typed) == PHONE


def test_a_number_with_its_own_country_code_keeps_it() -> None:
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    assert normalise_phone("+852 9123 4567") == "+85291234567"


@pytest.mark.parametrize("typed", ["", "   ", "12345", "1380013800", "abc", "+86 000", "1" * 60])
def test_an_invalid_number_is_refused_in_chinese_and_english(typed: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(typed)
    assert "not a valid phone number" in caught.value.message
    assert "不是有效的手机号码" in caught.value.message_zh
    assert isinstance(caught.value, BusinessRuleError)


# --- the rules HQ configures -----------------------------------------------------------


def test_the_default_rules_are_ordinary_silver_and_gold() -> None:
    assert [(t.name, t.min_points, t.points_per_100_yuan) for t in DEFAULT_RULES.tiers] == [
        ("普通会员", 0, 100),
        ("银卡", 2_000, 120),
        ("金卡", 10_000, 150),
    ]
    assert DEFAULT_RULES.basis == "rolling_12_months" and DEFAULT_RULES.fen_per_point == 1


def tiers(*specs: tuple[str, int, int]) -> list[dict[str, object]]:
    return [{"name": n, "min_points": m, "points_per_100_yuan": r} for n, m, r in specs]


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"tiers": tiers(("银卡", 100, 100))}, "first tier starts at 0"),
        ({"tiers": tiers(("a", 0, 100), ("b", 500, 100), ("c", 500, 100))}, "rise strictly"),
        ({"tiers": tiers(("a", 0, 100), ("a", 5, 100))}, "unique"),
        ({"tiers": []}, "at least 1"),
        ({"tiers": tiers(("a", 0, 100)), "fen_per_point": "1"}, "valid integer"),
        ({"tiers": tiers(("a", 0, 100)), "fen_per_point": True}, "valid integer"),
        ({"tiers": tiers(("a", 0, 100)), "basis": "forever"}, "rolling_12_months"),
        ({"tiers": tiers(("a", 0, 100)), "bonus": 2}, "Extra inputs"),
        ({"tiers": tiers(("a", 0, -1))}, "greater than or equal"),
    ],
)
def test_points_rules_are_strict_and_bounded(given: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        PointsRules.model_validate(given)


def test_rules_from_a_newer_hub_are_read_without_the_fields_this_release_lacks() -> None:
    newer = {
        "tiers": [{"name": "普通会员", "min_points": 0, "points_per_100_yuan": 100, "icon": "x"}],
        "basis": "lifetime",
        "birthday_bonus": 2,
    }
    rules = rules_from_replicated(newer)
    assert rules.basis == "lifetime" and rules.tiers[0].name == "普通会员"


def test_a_tier_is_the_highest_threshold_reached() -> None:
    names = [tier_for(p, DEFAULT_RULES).name for p in (0, 1_999, 2_000, 9_999, 10_000, 10**8)]
    assert names == ["普通会员", "普通会员", "银卡", "银卡", "金卡", "金卡"]


def test_a_rolling_basis_counts_the_last_365_days_and_lifetime_counts_all() -> None:
    earned = [
        Earning(NOW - YEAR_MS - 1, 5_000),  # 12 months and a moment ago: out
        Earning(NOW - YEAR_MS + 1, 1_500),
        Earning(NOW - DAY, 700),
        Earning(NOW + DAY, 900),  # stamped ahead of this counter's clock: not yet
    ]
    assert earned_on_basis(earned, NOW, "rolling_12_months") == 2_200
    assert earned_on_basis(earned, NOW, "lifetime") == 8_100


def test_a_returned_sale_counts_for_the_tier_at_the_time_it_earned() -> None:
    # A sale earned 3,000 eleven months ago and was returned since: net 0, then as the
    # year rolls on nothing crosses the edge.
    earned = [Earning(NOW - 330 * DAY, 0), Earning(NOW - 10 * DAY, 2_100)]
    assert tier_for(earned_on_basis(earned, NOW, "rolling_12_months"), DEFAULT_RULES).name == "银卡"
    assert earned_on_basis([Earning(NOW, -50)], NOW, "lifetime") == 0  # never below zero


def test_a_counter_applies_the_higher_of_the_hubs_tier_and_what_it_can_prove() -> None:
    assert effective_tier(DEFAULT_RULES, "金卡", 0).name == "金卡"
    assert effective_tier(DEFAULT_RULES, "普通会员", 2_500).name == "银卡"
    assert effective_tier(DEFAULT_RULES, None, 12_000).name == "金卡"
    assert effective_tier(DEFAULT_RULES, "钻石卡", 0).name == "普通会员"  # not in the rules


def test_each_tier_earns_at_its_own_rate_rounded_down() -> None:
    ordinary, silver, gold = DEFAULT_RULES.tiers
    assert points_for_sale(12_345, ordinary) == 123  # ¥123.45 at 1 point per yuan
    assert points_for_sale(12_345, silver) == 148  # 1.2 per yuan: 148.14
    assert points_for_sale(12_345, gold) == 185  # 1.5 per yuan: 185.175
    assert points_for_sale(66, gold) == 0 and points_for_sale(-500, gold) == 0
    assert points_for_sale(100, TierRule(name="x", min_points=0, points_per_100_yuan=0)) == 0


def test_points_pay_as_a_tender_up_to_the_allowance_and_the_share_of_the_sale() -> None:
    rules = DEFAULT_RULES.model_copy(update={"fen_per_point": 2, "max_share_percent": 50})
    assert value_fen(150, rules) == 300
    assert max_redeemable(10_000, 9_999, rules) == 2_500  # half of ¥100 at 2 fen a point
    assert max_redeemable(10_000, 700, rules) == 700  # the allowance here is less
    assert max_redeemable(3, 700, rules) == 0  # never part of a point


def test_a_return_takes_back_what_the_allowance_holds_and_names_the_shortfall() -> None:
    assert split_reversal(earned_back=300, redeemed_back=0, redeemable_here=1_000) == (300, 0)
    assert split_reversal(earned_back=300, redeemed_back=0, redeemable_here=120) == (120, 180)
    assert split_reversal(earned_back=300, redeemed_back=100, redeemable_here=50) == (150, 150)
    assert split_reversal(earned_back=300, redeemed_back=0, redeemable_here=-5) == (0, 300)


@pytest.mark.parametrize("bad", [0, -1, 10**10, True, "5", 1.5, None])
def test_points_and_amounts_are_whole_and_bounded(bad: object) -> None:
    with pytest.raises(BusinessRuleError):
        check_points(bad)
    if bad != 0:
        with pytest.raises(BusinessRuleError):
            check_amount(bad if bad != 10**10 else 10**11)
    assert check_points(0, 0) == 0 and check_amount(0) == 0


# --- bodies ----------------------------------------------------------------------------


def earned_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "phone": PHONE,
        "sale_id": "s-1",
        "location": "store-1",
        "points": 10,
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"points": "10"},
        {"points": True},
        {"points": 10.0},
        {"points": 0},
        {"points": 2_000_000_000},
        {"phone": "13800138000"},  # not normalised
        {"phone": "+86 138 0013 8000"},
        {"sale_id": ""},
        {"sale_id": "x" * 65},
        {"location": 7},
    ],
)
def test_a_points_body_is_strict_and_bounded(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PointsEarned.model_validate(earned_body(**changes))


def test_a_body_keeps_the_fields_it_does_not_know() -> None:
    body = PointsEarned.model_validate(earned_body(campaign="双十一"))
    assert body.model_dump()["campaign"] == "双十一"


def test_a_move_gives_at_least_one_point_unless_it_answers_an_ask() -> None:
    with pytest.raises(ValidationError, match="at least 1 point"):
        AllowanceMoved.model_validate({"phone": PHONE, "to": "cloud", "points": 0})
    answer = {"phone": PHONE, "to": "cloud", "points": 0, "answers": {"origin": "cloud", "seq": 3}}
    assert AllowanceMoved.model_validate(answer).points == 0


def test_a_reversal_reverses_something() -> None:
    base = {"phone": PHONE, "sale_id": "s-1", "return_id": "r-1", "location": "store-1"}
    with pytest.raises(ValidationError, match="reverses some points"):
        PointsReversed.model_validate(base)
    assert PointsReversed.model_validate({**base, "shortfall": 3}).shortfall == 3


def test_rules_a_node_cannot_apply_are_refused_when_they_arrive() -> None:
    with pytest.raises(ValidationError, match="cannot apply"):
        PointsRulesSet.model_validate({"rules": {"tiers": tiers(("a", 5, 100))}})
    with pytest.raises(InvalidOp):
        REGISTRY.validate("member.rules_set", 1, {"rules": {"tiers": "gold"}})


def test_member_fields_are_strict() -> None:
    assert MemberFields(name="王芳").changes() == {"name": "王芳"}
    with pytest.raises(ValidationError):
        MemberFields.model_validate({"name": ""})
    with pytest.raises(ValidationError):
        MemberFields.model_validate({"nickname": "芳"})
    with pytest.raises(ValidationError):
        MemberFields.model_validate({"tier": 3})


# --- the projection agrees with the pure fold -----------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_tables_give_the_balances_allowances_and_profiles_of_the_pure_fold(
    seed: int, make_store: MakeStore
) -> None:
    ops = history("members", seed=seed, n=120)
    store = make_store()
    shuffled = ops + random.Random(seed).sample(ops, k=30)
    random.Random(seed).shuffle(shuffled)
    store.apply(shuffled)
    state = fold_points(ops)
    profiles = member_profiles(ops)
    with store.read() as conn:
        for phone in PHONES:
            assert balance(conn, phone) == state.balance(phone)
            member = member_by_phone(conn, phone)
            if phone in profiles:
                assert member is not None
                assert member.name == profiles[phone].get("name")
                assert member.tier == profiles[phone].get("tier")
            mine = {k: v for k, v in state.allowances.items() if k[0] == phone and v != 0}
            assert allowances(conn, [phone]) == mine
            got = sorted((e.at_ms, e.points) for e in earnings(conn, phone))
            assert got == sorted((e.at_ms, e.points) for e in state.earnings.get(phone, []))


def test_a_tier_written_by_a_node_counts_for_nothing(make_store: MakeStore) -> None:
    ops = [op for op in history("members", seed=5, n=200) if op.kind == "member.profile_set"]
    store = make_store()
    store.apply(history("members", seed=5, n=200))
    hub_tiers = {
        str(op.body["phone"]): op
        for op in ops
        if op.origin == "cloud" and "tier" in op.body["fields"]
    }
    with store.read() as conn:
        for phone in PHONES:
            member = member_by_phone(conn, phone)
            tier = member.tier if member else None
            if phone not in hub_tiers:
                assert tier is None
            else:
                latest = max(
                    (
                        op
                        for op in ops
                        if op.origin == "cloud"
                        and op.body["phone"] == phone
                        and "tier" in op.body["fields"]
                    ),
                    key=lambda op: op.hlc,
                )
                assert tier == latest.body["fields"]["tier"]


def test_rules_written_by_a_node_count_for_nothing(make_store: MakeStore) -> None:
    ops = [op for op in history("members", seed=9, n=300) if op.kind == "member.rules_set"]
    assert {op.origin for op in ops} > {"cloud"}
    store = make_store()
    store.apply([op for op in history("members", seed=9, n=300)])
    latest = max((op for op in ops if op.origin == "cloud"), key=lambda op: op.hlc)
    with store.read() as conn:
        assert points_rules(conn) == rules_from_replicated(latest.body["rules"])


def test_last_visits_are_the_latest_sales_with_points_newest_first(make_store: MakeStore) -> None:
    ops = history("members", seed=21, n=150)
    store = make_store()
    store.apply(ops)
    with store.read() as conn:
        visits = last_visits(conn, PHONES[0], limit=4)
    assert 1 <= len(visits) <= 4
    assert [v.at_ms for v in visits] == sorted((v.at_ms for v in visits), reverse=True)
    for v in visits:
        firsts = [
            op
            for op in ops
            if op.origin == v.origin
            and op.body.get("sale_id") == v.sale_id
            and op.kind in ("member.points_earned", "member.points_redeemed")
        ]
        assert v.location == v.origin  # the history's sales are rung up where they are
        assert v.at_ms == min(wall_ms_of(op.hlc) for op in firsts if op.body["phone"] == PHONES[0])
