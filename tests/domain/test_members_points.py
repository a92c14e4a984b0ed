"""Members at the counter and their points as a bounded counter: a store spends only the
allowance it holds, so stores cut off from each other can never redeem more between
them than the member has; allowance moves by op from its holder (a store gives to the
hub, the hub grants to stores and recalls from them); returns give redeemed points back
to the store that redeemed them. A hub (SQLite or PostgreSQL) and two stores exchange
ops by `ops_range`, as the sync session would."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from domain.errors import BusinessRuleError, NotFound
from domain.members.allowance import (
    answer_asks,
    ask,
    give,
    rebalance,
    refresh_tiers,
    set_rules,
)
from domain.members.config import DEFAULT_RULES, PointsRules, TierRule
from domain.members.counter import change_profile, earn, enrol, look_up, redeem, reverse
from domain.members.errors import (
    AlreadyRecorded,
    HubOnly,
    InvalidPhone,
    NotEnoughPointsHere,
    UnknownMember,
)
from domain.members.kinds import MemberFields
from domain.members.queries import (
    allowance,
    allowances,
    balance,
    last_visits,
    member_tier,
    open_asks,
    overdrawn,
    points_rules,
)
from domain.members.rules import Ask, Grant, Recall, fold_points, plan_rebalance
from sync_protocol.hlc import system_ms
from sync_protocol.merge import unique
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.domain.conftest import MakeStore

PHONE = "+8613800138000"
Trio = tuple[ReplicaStore, ReplicaStore, ReplicaStore]


def sync(hub: ReplicaStore, node: ReplicaStore) -> None:
    """One exchange: the node's own ops up to the hub, the hub's ops down to the node
    (the star: a node never receives another node's ops)."""
    hub.apply(node.ops_range(node.origin, hub.head(node.origin) + 1, node.head(node.origin)))
    node.apply(hub.ops_range(HUB, node.head(HUB) + 1, hub.head(HUB)))


def here(store: ReplicaStore, phone: str = PHONE) -> int:
    with store.read() as conn:
        return allowance(conn, phone, store.origin)


def written(store: ReplicaStore) -> list[str]:
    return [op.kind for op in store.all_ops() if op.origin == store.origin]


@pytest.fixture
def trio(make_store: MakeStore) -> Iterator[Trio]:
    """A hub that enrolled 王芳 (138 0013 8000), and two stores that received her."""
    hub, s1, s2 = make_store(HUB), make_store("store-1"), make_store("store-2")
    with hub.write() as txn:
        enrol(txn, "138 0013 8000", location="online", actor="hq", name="王芳")
    sync(hub, s1)
    sync(hub, s2)
    yield hub, s1, s2


def earn_at(store: ReplicaStore, sale_id: str, amount_fen: int, phone: str = PHONE) -> int:
    with store.write() as txn:
        return earn(
            txn, phone, sale_id=sale_id, amount_fen=amount_fen, location=store.origin, actor="c1"
        ).points


def redeem_at(store: ReplicaStore, sale_id: str, points: int, phone: str = PHONE) -> int:
    with store.write() as txn:
        return redeem(
            txn, phone, sale_id=sale_id, points=points, location=store.origin, actor="c1"
        ).points


# --- at the counter --------------------------------------------------------------------


def test_a_member_is_looked_up_or_enrolled_by_phone_however_it_is_typed(
    make_store: MakeStore,
) -> None:
    store = make_store("store-1")
    with store.read() as conn:
        assert look_up(conn, "13800138000") is None
    with store.write() as txn:
        member = enrol(txn, "138-0013-8000", location="store-1", actor="c1", name="王芳")
    with store.write() as txn:
        again = enrol(txn, "+86 138 0013 8000", location="store-1", actor="c1", name="别人")
    assert member == again and member.phone == PHONE and member.name == "王芳"
    assert member.enrolled_at == "store-1" and member.enrolled_ms is not None
    assert written(store) == ["member.enrolled"]  # the second enrolment wrote nothing
    with store.read() as conn:
        found = look_up(conn, "１３８００１３８０００")
    assert found is not None and found.name == "王芳" and found.tier is None


def test_an_invalid_phone_is_refused_before_anything_is_written(make_store: MakeStore) -> None:
    store = make_store("store-1")
    with pytest.raises(InvalidPhone) as caught, store.write() as txn:
        enrol(txn, "1380013", location="store-1", actor="c1")
    assert "不是有效的手机号码" in caught.value.message_zh
    assert written(store) == []


def test_points_for_a_member_not_enrolled_here_are_refused(make_store: MakeStore) -> None:
    store = make_store("store-1")
    with pytest.raises(UnknownMember) as caught:
        earn_at(store, "s-1", 10_000)
    assert "请先登记入会" in caught.value.message_zh
    assert isinstance(caught.value, NotFound)


def test_points_earned_at_a_store_are_redeemable_there_at_once_offline(trio: Trio) -> None:
    hub, s1, _ = trio
    assert earn_at(s1, "s-1", 25_000) == 250  # ¥250 at 1 point per yuan
    with s1.write() as txn:
        paid = redeem(txn, PHONE, sale_id="s-2", points=200, location="store-1", actor="c1")
    assert (paid.points, paid.value_fen, paid.redeemable_here) == (200, 200, 50)
    with s1.read() as conn:
        assert balance(conn, PHONE) == 50
    with hub.read() as conn:
        assert balance(conn, PHONE) == 0  # the hub has not heard yet
    sync(hub, s1)
    with hub.read() as conn:
        assert balance(conn, PHONE) == 50 and allowances(conn, [PHONE]) == {(PHONE, "store-1"): 50}


def test_a_redemption_beyond_this_stores_allowance_is_refused_and_says_how_many(
    trio: Trio,
) -> None:
    hub, s1, s2 = trio
    earn_at(s1, "s-1", 30_000)  # 300 at store-1
    sync(hub, s1)
    with pytest.raises(NotEnoughPointsHere) as caught:
        redeem_at(s2, "t-1", 100)  # the member has 300, none of them at store-2
    assert (caught.value.asked, caught.value.redeemable_here) == (100, 0)
    assert "not enough points redeemable here now" in caught.value.message
    assert "本店当前可用积分不足" in caught.value.message_zh
    assert "现可用 0 分" in caught.value.message_zh
    with pytest.raises(NotEnoughPointsHere) as at_s1:
        redeem_at(s1, "s-2", 301)
    assert at_s1.value.redeemable_here == 300
    assert "member.points_redeemed" not in written(s1) + written(s2)


def test_points_pay_at_most_the_share_of_a_sale_the_rules_allow(trio: Trio) -> None:
    hub, s1, _ = trio
    rules = DEFAULT_RULES.model_copy(update={"max_share_percent": 50})
    with hub.write() as txn:
        set_rules(txn, rules, actor="hq")
    sync(hub, s1)
    earn_at(s1, "s-1", 100_000)  # 1,000 points
    with pytest.raises(BusinessRuleError, match="at most 50%") as caught, s1.write() as txn:
        redeem(
            txn, PHONE, sale_id="s-2", points=600, location="s1", actor="c", sale_total_fen=1_000
        )
    assert "最多 500 分" in caught.value.message_zh
    with s1.write() as txn:
        ok = redeem(
            txn, PHONE, sale_id="s-2", points=500, location="s1", actor="c", sale_total_fen=1_000
        )
    assert ok.value_fen == 500


def test_a_retried_sale_answers_what_was_recorded_and_a_reused_id_is_refused(trio: Trio) -> None:
    _, s1, _ = trio
    earn_at(s1, "s-1", 50_000)
    with s1.write() as txn:
        again = earn(txn, PHONE, sale_id="s-1", amount_fen=50_000, location="store-1", actor="c1")
    assert again.replayed and again.points == 500
    with pytest.raises(AlreadyRecorded), s1.write() as txn:
        earn(txn, PHONE, sale_id="s-1", amount_fen=10_000, location="store-1", actor="c1")
    redeem_at(s1, "s-2", 100)
    with s1.write() as txn:
        paid = redeem(txn, PHONE, sale_id="s-2", points=100, location="store-1", actor="c1")
    assert paid.replayed and paid.redeemable_here == 400
    with pytest.raises(AlreadyRecorded), s1.write() as txn:
        redeem(txn, PHONE, sale_id="s-2", points=90, location="store-1", actor="c1")
    assert written(s1).count("member.points_earned") == 1
    assert written(s1).count("member.points_redeemed") == 1


# --- the bounded counter: stores cut off from each other -------------------------------


def test_two_partitioned_stores_each_redeeming_the_full_balance_never_exceed_it(
    trio: Trio,
) -> None:
    hub, s1, s2 = trio
    earn_at(hub, "web-1", 100_000)  # an online order: 1,000 points, held by the hub
    with hub.write() as txn:
        give(txn, PHONE, to="store-1", points=500, actor="hq")
        give(txn, PHONE, to="store-2", points=300, actor="hq")
    sync(hub, s1)
    sync(hub, s2)
    # Cut off from here on: each store tries to redeem the member's whole balance.
    redeemed = 0
    for store in (s1, s2):
        with pytest.raises(NotEnoughPointsHere) as caught:
            redeem_at(store, "full", 1_000)
        redeemed += redeem_at(store, "what-is-here", caught.value.redeemable_here)
        with pytest.raises(NotEnoughPointsHere):
            redeem_at(store, "more", 1)
    with pytest.raises(NotEnoughPointsHere):
        redeem_at(hub, "web-2", 201)
    redeemed += redeem_at(hub, "web-2", 200)
    assert redeemed == 1_000
    sync(hub, s1)
    sync(hub, s2)
    with hub.read() as conn:
        assert balance(conn, PHONE) == 0
        assert overdrawn(conn) == []
        assert allowances(conn, [PHONE]) == {}


def everything(hub: ReplicaStore, *nodes: ReplicaStore) -> list[Op]:
    """Every op written anywhere so far, whether or not it has reached the hub."""
    ops = hub.all_ops()
    for node in nodes:
        ops += [op for op in node.all_ops() if op.origin == node.origin]
    return unique(ops)


@pytest.mark.parametrize("seed", range(3))
def test_no_partition_and_no_order_of_events_lets_points_be_spent_twice(
    seed: int, trio: Trio
) -> None:
    hub, s1, s2 = trio
    rng = random.Random(seed)
    stores = {"cloud": hub, "store-1": s1, "store-2": s2}
    online = {"store-1": True, "store-2": True}
    earned = redeemed = 0
    happened: dict[str, set[str]] = {"redeemed": set(), "refused": set(), "cut off": set()}
    for step in range(120):
        name = rng.choice(list(stores))
        store = stores[name]
        roll = rng.random()
        if roll < 0.2:
            earned += earn_at(store, f"e{step}", rng.randint(1, 500) * 100)
        elif roll < 0.55:
            wanted = rng.randint(1, max(1, earned - redeemed + 100))
            try:
                redeemed += redeem_at(store, f"r{step}", wanted)
                happened["redeemed"].add(name)
            except NotEnoughPointsHere as refused:
                assert refused.redeemable_here == here(store) < wanted
                happened["refused"].add(name)
        elif roll < 0.65 and name != HUB and here(store) > 0:
            points = rng.randint(1, here(store))
            with store.write() as txn:
                give(txn, PHONE, to=HUB, points=points, actor="c")
        elif roll < 0.75 and name != HUB:
            with store.write() as txn:
                ask(txn, PHONE, points=rng.randint(1, 800), actor="c")
        elif roll < 0.85:
            with store.write() as txn:
                if name == HUB:
                    now = system_ms() + rng.choice([0, 3_600_000])
                    rebalance(txn, actor="hq", now_ms=now)
                else:
                    answer_asks(txn, actor="c")
        else:
            node = rng.choice(["store-1", "store-2"])
            online[node] = not online[node]  # a partition begins or heals
            happened["cut off"].add(node)
        for node in ("store-1", "store-2"):
            if online[node] and rng.random() < 0.5:
                sync(hub, stores[node])
        state = fold_points(everything(hub, s1, s2))
        assert all(points >= 0 for points in state.allowances.values()), state.allowances
        assert state.balance(PHONE) == earned - redeemed >= 0
    for store in (s1, s2):
        sync(hub, store)
    with hub.read() as conn:
        assert balance(conn, PHONE) == earned - redeemed
        assert overdrawn(conn) == []
    # The history had what it is meant to test: stores redeeming and refused while cut off.
    assert len(happened["redeemed"]) >= 2 and len(happened["refused"]) >= 2, happened
    assert happened["cut off"], happened


def test_a_forged_overdraft_is_folded_and_shows_as_an_anomaly(trio: Trio) -> None:
    hub, _, _ = trio
    key = NodeKey.generate()
    body = {"phone": PHONE, "sale_id": "x", "location": "rogue", "points": 99}
    hub.apply([key.sign(Op("rogue", 1, 5, "member.points_redeemed", 1, "t", body))])
    with hub.read() as conn:
        assert overdrawn(conn) == [(PHONE, "rogue", -99)]


# --- moving allowance -------------------------------------------------------------------


def test_a_store_gives_allowance_to_the_hub_only(trio: Trio) -> None:
    hub, s1, _ = trio
    earn_at(s1, "s-1", 20_000)
    with pytest.raises(BusinessRuleError, match="to HQ only") as caught, s1.write() as txn:
        give(txn, PHONE, to="store-2", points=50, actor="c1")
    assert "只能把积分额度交回总部" in caught.value.message_zh
    with pytest.raises(NotEnoughPointsHere), s1.write() as txn:
        give(txn, PHONE, to=HUB, points=201, actor="c1")
    with s1.write() as txn:
        give(txn, PHONE, to=HUB, points=150, actor="c1")
    assert here(s1) == 50
    sync(hub, s1)
    assert here(hub) == 150
    with pytest.raises(BusinessRuleError, match="asks HQ"), s1.write() as txn:
        ask(txn, PHONE, points=5, of="store-2", actor="c1")


def test_points_held_at_one_store_reach_another_through_the_hub(trio: Trio) -> None:
    hub, s1, s2 = trio
    earn_at(s1, "s-1", 80_000)  # 800 at store-1
    sync(hub, s1)
    with pytest.raises(NotEnoughPointsHere):
        redeem_at(s2, "t-1", 500)
    with s2.write() as txn:  # the member is at store-2's counter: ask HQ
        ask(txn, PHONE, points=500, actor="c2")
    sync(hub, s2)
    with hub.write() as txn:  # the hub holds none: it recalls 500 from store-1
        assert [op.kind for op in rebalance(txn, actor="hq")] == ["member.allowance_asked"]
    with hub.write() as txn:  # and waits: nothing more to do until store-1 answers
        assert rebalance(txn, actor="hq") == []
    sync(hub, s1)
    with s1.write() as txn:
        answered = answer_asks(txn, actor="c1")
    assert [op.body["points"] for op in answered] == [500]
    assert here(s1) == 300
    sync(hub, s1)
    with hub.write() as txn:
        granted = rebalance(txn, actor="hq")
    assert [(op.kind, op.body["to"], op.body["points"]) for op in granted] == [
        ("member.allowance_moved", "store-2", 500)
    ]
    sync(hub, s2)
    assert redeem_at(s2, "t-1", 500) == 500
    with s2.read() as conn:
        assert open_asks(conn, HUB) == []  # answered (store-2 holds the hub's answer)
    sync(hub, s2)
    with hub.read() as conn:
        assert open_asks(conn, HUB) == [] and balance(conn, PHONE) == 300


def test_an_ask_the_hub_cannot_fill_in_time_is_answered_with_what_it_has(trio: Trio) -> None:
    hub, s1, s2 = trio
    earn_at(s1, "s-1", 40_000)
    earn_at(hub, "web-1", 10_000)  # the hub holds 100
    sync(hub, s1)
    with s2.write() as txn:
        ask(txn, PHONE, points=300, actor="c2")
    sync(hub, s2)
    with hub.write() as txn:
        rebalance(txn, actor="hq")  # recalls 200 from store-1, which is offline from now
    later = system_ms() + 3_600_000
    with hub.write() as txn:
        granted = rebalance(txn, actor="hq", now_ms=later)
    assert [(op.body["to"], op.body["points"]) for op in granted] == [("store-2", 100)]
    sync(hub, s2)
    assert here(s2) == 100


def test_the_hubs_plan_grants_from_its_pool_recalls_the_rest_and_waits() -> None:
    a1 = Ask("store-2", 4, PHONE, HUB, 300, at_ms=1_000)
    a2 = Ask("store-3", 9, PHONE, HUB, 50, at_ms=2_000)
    held = {(PHONE, HUB): 100, (PHONE, "store-1"): 150, (PHONE, "store-4"): 120}
    grants, recalls = plan_rebalance([a2, a1], held, [], now_ms=1_500, wait_ms=600)
    assert grants == []  # a1 waits for 200 more, and a2 waits behind it
    assert recalls == [Recall(PHONE, "store-1", 150), Recall(PHONE, "store-4", 50)]
    pending = [Ask(HUB, 1, PHONE, "store-1", 150, 1_500), Ask(HUB, 2, PHONE, "store-4", 50, 1_500)]
    assert plan_rebalance([a1, a2], held, pending, now_ms=1_550, wait_ms=600) == ([], [])
    held = {(PHONE, HUB): 350}  # both answered
    assert plan_rebalance([a1, a2], held, [], now_ms=1_600, wait_ms=600) == (
        [Grant(a1, 300), Grant(a2, 50)],
        [],
    )
    # Nobody answered in time: the hub grants what it has, and 0 answers "none".
    held = {(PHONE, HUB): 100}
    assert plan_rebalance([a1, a2], held, pending, now_ms=9_000, wait_ms=600)[0] == [
        Grant(a1, 100),
        Grant(a2, 0),
    ]


# --- returns ---------------------------------------------------------------------------


def test_a_return_gives_redeemed_points_back_to_the_store_that_redeemed_them(trio: Trio) -> None:
    hub, s1, _ = trio
    earn_at(hub, "web-1", 50_000)
    with hub.write() as txn:
        give(txn, PHONE, to="store-1", points=500, actor="hq")
    sync(hub, s1)
    redeem_at(s1, "s-1", 400)
    earn_at(s1, "s-1", 20_000)  # the same sale earned 200 on what was paid in money
    assert here(s1) == 300
    with s1.write() as txn:
        back = reverse(txn, PHONE, sale_id="s-1", return_id="ret-1", location="store-1", actor="c1")
    assert (back.redeemed, back.earned, back.shortfall) == (400, 200, 0)
    assert here(s1) == 500  # the 400 came back here, the 200 earned went
    sync(hub, s1)
    with hub.read() as conn:
        assert allowance(conn, PHONE, "store-1") == 500 and balance(conn, PHONE) == 500
        latest = last_visits(conn, PHONE)[0]
    assert (latest.sale_id, latest.earned, latest.redeemed) == ("s-1", 0, 0)  # all returned


def test_earned_points_already_spent_are_the_returns_shortfall(trio: Trio) -> None:
    _, s1, _ = trio
    earn_at(s1, "s-1", 30_000)  # 300
    redeem_at(s1, "s-2", 250)
    with s1.write() as txn:
        part = reverse(
            txn, PHONE, sale_id="s-1", return_id="ret-1", location="store-1", actor="c1", earned=100
        )
    assert (part.earned, part.shortfall) == (50, 50) and part.shortfall_fen == 50
    with s1.write() as txn:
        rest = reverse(txn, PHONE, sale_id="s-1", return_id="ret-2", location="store-1", actor="c1")
    assert (rest.earned, rest.shortfall) == (0, 200)  # 200 left of the sale, none held here
    assert here(s1) == 0
    with s1.write() as txn:
        again = reverse(txn, PHONE, sale_id="s-1", return_id="ret-1", location="store-1", actor="c")
    assert again.replayed and (again.earned, again.shortfall) == (50, 50)
    with pytest.raises(BusinessRuleError, match="left to reverse"), s1.write() as txn:
        reverse(txn, PHONE, sale_id="s-2", return_id="ret-3", location="s", actor="c", redeemed=251)
    with pytest.raises(NotFound), s1.write() as txn:
        reverse(txn, PHONE, sale_id="nope", return_id="ret-4", location="s", actor="c")


# --- rules and tiers from the hub ------------------------------------------------------


def test_the_hubs_rules_reach_a_store_and_apply_offline(trio: Trio) -> None:
    hub, s1, _ = trio
    double = PointsRules(tiers=[TierRule(name="会员", min_points=0, points_per_100_yuan=200)])
    with hub.write() as txn:
        set_rules(txn, double, actor="hq")
    with s1.read() as conn:
        assert points_rules(conn) == DEFAULT_RULES
    assert earn_at(s1, "s-1", 10_000) == 100
    sync(hub, s1)
    with s1.read() as conn:
        assert points_rules(conn) == double
    assert earn_at(s1, "s-2", 10_000) == 200
    with pytest.raises(HubOnly), s1.write() as txn:
        set_rules(txn, double, actor="c1")


def test_the_hub_sets_tiers_from_every_stores_earnings_and_a_store_applies_them(
    trio: Trio,
) -> None:
    hub, s1, s2 = trio
    earn_at(s1, "s-1", 1_200_000)  # 12,000 points at store-1: gold, as the hub will see
    with s2.read() as conn:
        assert member_tier(conn, PHONE, DEFAULT_RULES, system_ms()).name == "普通会员"
    sync(hub, s1)
    with hub.write() as txn:
        assert [op.body["fields"] for op in refresh_tiers(txn, actor="hq")] == [{"tier": "金卡"}]
    with hub.write() as txn:
        assert refresh_tiers(txn, actor="hq") == []  # nothing changed since
    sync(hub, s2)
    with s2.read() as conn:
        assert member_tier(conn, PHONE, DEFAULT_RULES, system_ms()).name == "金卡"
    assert earn_at(s2, "t-1", 10_000) == 150  # gold earns 1.5 per yuan
    with hub.read() as conn:  # a year on, without a sale, the 12 months hold nothing
        later = system_ms() + 400 * 24 * 3_600_000
        assert member_tier(conn, PHONE, DEFAULT_RULES, later).name == "金卡"  # the hub's word
    with hub.write() as txn:
        assert [op.body["fields"] for op in refresh_tiers(txn, actor="hq", now_ms=later)] == [
            {"tier": "普通会员"}
        ]


def test_only_the_hub_sets_a_tier(trio: Trio) -> None:
    hub, s1, _ = trio
    with pytest.raises(HubOnly) as caught, s1.write() as txn:
        change_profile(txn, PHONE, MemberFields(tier="金卡"), actor="c1")
    assert "只有总部" in caught.value.message_zh
    with pytest.raises(BusinessRuleError, match="no tier"), hub.write() as txn:
        change_profile(txn, PHONE, MemberFields(tier="钻石卡"), actor="hq")
    with s1.write() as txn:
        member = change_profile(txn, PHONE, MemberFields(name="王芳芳"), actor="c1")
    assert member.name == "王芳芳"


def test_last_visits_at_the_hub_say_when_and_where(trio: Trio) -> None:
    hub, s1, s2 = trio
    earn_at(s1, "s-1", 10_000)
    earn_at(s2, "t-1", 20_000)
    redeem_at(s2, "t-2", 150)
    sync(hub, s1)
    sync(hub, s2)
    with hub.read() as conn:
        visits = last_visits(conn, PHONE)
    assert [(v.location, v.sale_id, v.earned, v.redeemed) for v in visits] == [
        ("store-2", "t-2", 0, 150),
        ("store-2", "t-1", 200, 0),
        ("store-1", "s-1", 100, 0),
    ]
    assert visits[0].at_ms >= visits[1].at_ms >= visits[2].at_ms > 0
