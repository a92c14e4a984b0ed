"""Signed histories of each area's ops, written by several origins, for the contract."""

from __future__ import annotations

import random
from collections.abc import Callable

from sync_protocol.hlc import HybridClock
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey

ORIGINS = ("cloud", "store-1", "wh-1")
SKUS = ("6901234567890", "6909876543210", "COLA-330")

Body = Callable[[random.Random, str], tuple[str, dict[str, object]]]


def catalog_body(rng: random.Random, origin: str) -> tuple[str, dict[str, object]]:
    fields: dict[str, object] = {"price_fen": rng.randint(0, 999)}
    if rng.random() < 0.5:
        fields["name"] = rng.choice(["矿泉水", "可乐", "薯片"])
    return "catalog.item_set", {"sku": rng.choice(SKUS), "fields": fields}


def stock_body(rng: random.Random, origin: str) -> tuple[str, dict[str, object]]:
    return "stock.moved", {
        "sku": rng.choice(SKUS),
        "location": origin,
        "qty": rng.randint(-5, 20),
        "reason": "adjust",
    }


def sales_body(rng: random.Random, origin: str) -> tuple[str, dict[str, object]]:
    qty = rng.randint(1, 3)
    price = rng.randint(100, 900)
    # Ids drawn from a small pool: different origins reuse them, as tills may.
    return "sale.completed", {
        "sale_id": f"till-{rng.randint(1, 4)}-{rng.randint(1, 1000)}",
        "location": origin,
        "lines": [
            {
                "sku": rng.choice(SKUS),
                "name": "商品",
                "qty": qty,
                "unit_price_fen": price,
                "amount_fen": qty * price,
            }
        ],
        "total_fen": qty * price,
        "payment": rng.choice(["cash", "wechat"]),
    }


STAFF = ("c001", "c002", "s001")


def staff_body(rng: random.Random, origin: str) -> tuple[str, dict[str, object]]:
    # Account writes from every origin: only the hub's count, and the fold must say so.
    staff_id, roll = rng.choice(STAFF), rng.random()
    if roll < 0.3:
        fields: dict[str, object] = {"name": rng.choice(["王芳", "李雷", "张伟"])}
        if rng.random() < 0.5:
            fields["role"] = rng.choice(["cashier", "supervisor", "manager"])
        if rng.random() < 0.3:
            fields["active"] = rng.random() < 0.8
        return "staff.member_set", {"staff_id": staff_id, "fields": fields}
    if roll < 0.8:
        return "staff.pin_failed", {"staff_id": staff_id, "location": origin}
    if roll < 0.9:
        return "staff.pin_accepted", {"staff_id": staff_id, "location": origin}
    return "staff.unlocked", {"staff_id": staff_id, "location": origin, "by": "s001"}


PHONES = ("+8613800138000", "+8613911112222", "+8618612345678")


def members_body(rng: random.Random, origin: str) -> tuple[str, dict[str, object]]:
    # Every kind, from every origin: tiers and rules count only from the hub; sale and
    # return ids drawn from small pools, so an origin sometimes reuses one (the first
    # by seq counts); moves and asks between any holders.
    phone, roll = rng.choice(PHONES), rng.random()
    sale_id = f"s-{rng.randint(1, 6)}"
    if roll < 0.1:
        fields: dict[str, object] = {"name": rng.choice(["王芳", "李雷", "张伟"])}
        return "member.enrolled", {"phone": phone, "location": origin, "fields": fields}
    if roll < 0.2:
        fields = {"tier": rng.choice(["普通会员", "银卡", "金卡"])}
        if rng.random() < 0.5:
            fields["name"] = rng.choice(["王芳", "李雷"])
        return "member.profile_set", {"phone": phone, "fields": fields}
    if roll < 0.45:
        points = rng.randint(1, 500)
        return "member.points_earned", {
            "phone": phone,
            "sale_id": sale_id,
            "location": origin,
            "points": points,
            "amount_fen": points * 100,
        }
    if roll < 0.6:
        points = rng.randint(1, 200)
        return "member.points_redeemed", {
            "phone": phone,
            "sale_id": sale_id,
            "location": origin,
            "points": points,
            "value_fen": points,
        }
    if roll < 0.7:
        return "member.points_reversed", {
            "phone": phone,
            "sale_id": sale_id,
            "return_id": f"r-{rng.randint(1, 4)}",
            "location": origin,
            "earned": rng.randint(0, 50),
            "redeemed": rng.randint(0, 50),
            "shortfall": rng.randint(1, 10),
        }
    to = rng.choice([o for o in ORIGINS if o != origin])
    if roll < 0.85:
        body: dict[str, object] = {"phone": phone, "to": to, "points": rng.randint(1, 300)}
        if rng.random() < 0.3:
            body["answers"] = {"origin": to, "seq": rng.randint(1, 20)}
        return "member.allowance_moved", body
    if roll < 0.95:
        return "member.allowance_asked", {"phone": phone, "of": to, "points": rng.randint(1, 300)}
    threshold = rng.randint(100, 5000)
    rules = {
        "tiers": [
            {"name": "普通会员", "min_points": 0, "points_per_100_yuan": 100},
            {"name": "银卡", "min_points": threshold, "points_per_100_yuan": 120},
        ],
        "basis": rng.choice(["rolling_12_months", "lifetime"]),
    }
    return "member.rules_set", {"rules": rules}


BODIES: dict[str, Body] = {
    "catalog": catalog_body,
    "stock": stock_body,
    "sales": sales_body,
    "staff": staff_body,
    "members": members_body,
}


def history(area: str, seed: int, n: int = 60) -> list[Op]:
    """`n` signed ops of one area, spread over the origins, each origin gapless."""
    rng = random.Random(seed)
    keys = {o: NodeKey.generate() for o in ORIGINS}
    clock_at = {o: 1_700_000_000_000 + i for i, o in enumerate(ORIGINS)}

    def wall(origin: str) -> Callable[[], int]:
        return lambda: clock_at[origin]

    clocks = {o: HybridClock(physical_ms=wall(o)) for o in ORIGINS}
    seqs = dict.fromkeys(ORIGINS, 0)
    ops: list[Op] = []
    for _ in range(n):
        origin = rng.choice(ORIGINS)
        clock_at[origin] += rng.randint(0, 3)  # equal stamps across origins happen
        seqs[origin] += 1
        kind, body = BODIES[area](rng, origin)
        ops.append(
            keys[origin].sign(Op(origin, seqs[origin], clocks[origin].now(), kind, 1, "t", body))
        )
    return ops


def keys_of(ops: list[Op]) -> set[str]:
    return {op.origin for op in ops}
