"""Promotions from HQ at the counter: each kind, time windows, and which applies when
several could."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.pricing.promotions import (
    AmountOff,
    AppliedDiscount,
    BuyNGetM,
    Line,
    MemberPrice,
    PercentOff,
    PricedCart,
    Promotion,
    PromotionSet,
    apply_promotions,
)
from domain.pricing.windows import TimeWindow
from sync_protocol.errors import ConfigurationError

WEDNESDAY = datetime(2026, 3, 4, 10, 30)  # a Wednesday morning, store time
PROMOTION: TypeAdapter[Promotion] = TypeAdapter(Promotion)

# The shelf: 可乐 ¥3.00, 雪碧 ¥3.00, 冰红茶 ¥3.50, 纯牛奶 ¥4.50, 薯片 ¥6.50, 面包 ¥6.45,
# 大米 5kg ¥59.90, 五花肉 ¥38.80/kg.
COLA, SPRITE, TEA, MILK, CHIPS, BREAD, RICE = (
    "cola-500ml", "sprite-500ml", "tea-500ml", "milk-250ml", "chips-70g", "bread", "rice-5kg"
)  # fmt: skip
PORK = "pork-belly"


def promo(**fields: Any) -> Promotion:
    """A promotion as HQ authors it (JSON-shaped), with a name by default."""
    return PROMOTION.validate_python({"name": fields.get("id", "promo"), **fields})


def price(
    lines: list[Line], *promotions: Promotion, member: bool = False, at: datetime = WEDNESDAY
) -> PricedCart:
    return apply_promotions(lines, promotions, member=member, at=at)


def discounts(cart: PricedCart) -> list[int]:
    return [p.discount_fen for p in cart.lines]


# --- percent off and amount off -----------------------------------------------------------


def test_percent_off_some_skus_comes_off_each_of_their_lines() -> None:
    milk_88 = promo(type="percent_off", id="milk-88", percent=12, skus=[MILK])  # 8.8折
    cart = price([Line.counted(MILK, 2, 450), Line.counted(CHIPS, 1, 650)], milk_88)
    assert discounts(cart) == [108, 0]
    assert cart.total_fen == 900 - 108 + 650


def test_a_percent_rounds_half_up_on_each_line() -> None:
    bread_10 = promo(type="percent_off", id="bread-10", percent=10, skus=[BREAD])
    assert discounts(price([Line.counted(BREAD, 1, 645)], bread_10)) == [65]  # 64.5 fen


def test_percent_off_below_its_minimum_spend_gives_nothing() -> None:
    milk = promo(type="percent_off", id="m", percent=12, skus=[MILK], min_spend_fen=1000)
    assert discounts(price([Line.counted(MILK, 2, 450)], milk)) == [0]


def test_amount_off_a_set_is_shared_by_the_lines_amounts_and_adds_up() -> None:
    drinks = promo(
        type="amount_off", id="drinks", off_fen=200, skus=[COLA, TEA], min_spend_fen=1000
    )  # 饮料满10减2
    cart = price([Line.counted(COLA, 2, 300), Line.counted(TEA, 2, 350)], drinks)
    assert discounts(cart) == [92, 108]


def test_an_amount_off_never_takes_lines_below_zero() -> None:
    big = promo(type="amount_off", id="big", off_fen=5000, skus=[COLA])
    cart = price([Line.counted(COLA, 2, 300)], big)
    assert discounts(cart) == [600] and cart.total_fen == 0


# --- buy N get M ----------------------------------------------------------------------


def test_buy_two_get_one_free_of_the_same_sku() -> None:
    cola = promo(type="buy_n_get_m", id="cola-b2g1", skus=[COLA], buy=2, get=1)
    assert discounts(price([Line.counted(COLA, 3, 300)], cola)) == [300]


def test_every_n_plus_m_units_give_m_free() -> None:
    cola = promo(type="buy_n_get_m", id="cola-b2g1", skus=[COLA], buy=2, get=1)
    assert discounts(price([Line.counted(COLA, 7, 300)], cola)) == [600]


def test_same_sku_needs_n_plus_m_units_of_one_sku() -> None:
    drinks = promo(type="buy_n_get_m", id="d", skus=[COLA, SPRITE], buy=2, get=1)
    cart = price([Line.counted(COLA, 2, 300), Line.counted(SPRITE, 1, 300)], drinks)
    assert discounts(cart) == [0, 0]


def test_same_sku_counts_one_sku_across_lines_scanned_apart() -> None:
    cola = promo(type="buy_n_get_m", id="cola-b2g1", skus=[COLA], buy=2, get=1)
    cart = price([Line.counted(COLA, 1, 300), Line.counted(COLA, 2, 300)], cola)
    assert cart.discount_fen == 300


def test_cheapest_free_gives_the_cheapest_unit_of_the_set() -> None:
    drinks = promo(type="buy_n_get_m", id="d", skus=[COLA, TEA], buy=2, get=1, free="cheapest")
    cart = price([Line.counted(TEA, 2, 350), Line.counted(COLA, 1, 300)], drinks)
    assert discounts(cart) == [0, 300]


def test_cheapest_free_takes_the_cheapest_units_of_the_whole_cart() -> None:
    drinks = promo(type="buy_n_get_m", id="d", skus=[COLA, TEA], buy=2, get=1, free="cheapest")
    cart = price([Line.counted(TEA, 4, 350), Line.counted(COLA, 2, 300)], drinks)
    assert discounts(cart) == [0, 600]  # 6 units: the 2 cheapest free


def test_cheapest_free_between_equal_prices_goes_to_the_earlier_line() -> None:
    drinks = promo(
        type="buy_n_get_m", id="d", skus=[COLA, SPRITE, TEA], buy=2, get=1, free="cheapest"
    )
    lines = [Line.counted(TEA, 1, 350), Line.counted(SPRITE, 1, 300), Line.counted(COLA, 1, 300)]
    assert discounts(price(lines, drinks)) == [0, 300, 0]


def test_weighed_lines_take_no_part_in_buy_n_get_m() -> None:
    pork = promo(type="buy_n_get_m", id="p", skus=[PORK], buy=1, get=1)
    lines = [Line.weighed(PORK, 3880, 512), Line.weighed(PORK, 3880, 430)]
    assert price(lines, pork).discount_fen == 0


# --- member prices and members-only -----------------------------------------------------


def test_a_member_price_is_for_members() -> None:
    rice = promo(type="member_price", id="rice-m", prices={RICE: 5490})
    assert discounts(price([Line.counted(RICE, 2, 5990)], rice, member=True)) == [1000]


def test_a_member_price_is_not_for_other_customers() -> None:
    rice = promo(type="member_price", id="rice-m", prices={RICE: 5490})
    assert discounts(price([Line.counted(RICE, 2, 5990)], rice, member=False)) == [0]


def test_a_member_price_of_a_weighed_good_is_per_kilo() -> None:
    pork = promo(type="member_price", id="pork-m", prices={PORK: 3580})
    cart = price([Line.weighed(PORK, 3880, 512)], pork, member=True)
    assert discounts(cart) == [1987 - 1833]  # ¥35.80/kg × 512 g = 1832.96 fen


def test_a_member_price_above_the_shelf_price_gives_nothing() -> None:
    rice = promo(type="member_price", id="rice-m", prices={RICE: 6290})
    assert price([Line.counted(RICE, 1, 5990)], rice, member=True).applied == ()


def test_a_members_only_promotion_is_not_for_other_customers() -> None:
    milk = promo(type="percent_off", id="m", percent=12, skus=[MILK], members_only=True)
    assert price([Line.counted(MILK, 2, 450)], milk, member=False).discount_fen == 0


def test_a_member_price_cannot_be_made_for_everyone() -> None:
    with pytest.raises(ValidationError):
        promo(type="member_price", id="m", prices={RICE: 5490}, members_only=False)


# --- when several could apply ------------------------------------------------------------


def test_the_bigger_saving_takes_a_line_two_promotions_want() -> None:
    member = promo(type="member_price", id="milk-m", prices={MILK: 420})  # saves 60
    milk_88 = promo(type="percent_off", id="milk-88", percent=12, skus=[MILK])  # saves 108
    cart = price([Line.counted(MILK, 2, 450)], member, milk_88, member=True)
    assert cart.lines[0].discounts == (AppliedDiscount("milk-88", "milk-88", 108),)


def test_equal_savings_go_to_the_smaller_promotion_id_in_any_order() -> None:
    a = promo(type="percent_off", id="a-milk", percent=10, skus=[MILK])
    b = promo(type="amount_off", id="b-milk", off_fen=90, skus=[MILK])
    for order in ((a, b), (b, a)):
        cart = price([Line.counted(MILK, 2, 450)], *order)
        assert [d.promotion_id for d in cart.lines[0].discounts] == ["a-milk"]


def test_units_paid_for_in_a_buy_n_get_m_get_no_other_promotion() -> None:
    drinks = promo(
        type="buy_n_get_m", id="d", skus=[COLA, TEA], buy=2, get=1, free="cheapest"
    )  # saves 300, using both lines
    tea_10 = promo(type="percent_off", id="tea-10", percent=10, skus=[TEA])  # would save 70
    cart = price([Line.counted(TEA, 2, 350), Line.counted(COLA, 1, 300)], drinks, tea_10)
    assert discounts(cart) == [0, 300]


def test_a_set_promotion_counts_its_minimum_spend_on_the_lines_it_still_gets() -> None:
    drinks = promo(
        type="amount_off", id="drinks", off_fen=200, skus=[COLA, TEA], min_spend_fen=1000
    )  # both lines: 1300 fen, saves 200
    tea_m = promo(type="member_price", id="tea-m", prices={TEA: 200})  # saves 300 on tea
    cart = price(
        [Line.counted(COLA, 2, 300), Line.counted(TEA, 2, 350)], drinks, tea_m, member=True
    )
    assert discounts(cart) == [0, 300]  # cola alone (600 fen) is short of 满10


def test_cart_promotions_count_their_minimum_spend_after_line_promotions() -> None:
    full_100 = promo(type="amount_off", id="full-100", off_fen=1000, min_spend_fen=10000)
    chips_80 = promo(type="percent_off", id="chips-80", percent=20, skus=[CHIPS])
    lines = [Line.counted(RICE, 1, 5990), Line.counted(CHIPS, 7, 650)]  # ¥105.40
    cart = price(lines, full_100, chips_80)  # ¥96.30 after 8折 on the chips
    assert [a.promotion_id for a in cart.applied] == ["chips-80"]


def test_only_the_best_cart_promotion_applies() -> None:
    full_100 = promo(type="amount_off", id="full-100", off_fen=1000, min_spend_fen=10000)
    all_95 = promo(type="percent_off", id="all-95", percent=5)
    cart = price([Line.counted(RICE, 2, 5990)], full_100, all_95)  # 1000 beats 599
    assert [a.promotion_id for a in cart.applied] == ["full-100"]
    assert cart.total_fen == 11980 - 1000


def test_a_cart_promotion_is_shared_across_the_lines_and_adds_up() -> None:
    all_95 = promo(type="percent_off", id="all-95", percent=5)
    lines = [Line.counted(RICE, 1, 5990), Line.counted(MILK, 3, 450), Line.weighed(PORK, 3880, 512)]
    cart = price(lines, all_95)
    assert cart.discount_fen == 466  # 5 % of ¥93.27, half-up
    assert discounts(cart) == [299, 68, 99]  # by amount, the odd fen to the largest rest


def test_a_cart_promotion_excluding_promoted_lines_leaves_them_out() -> None:
    full_50 = promo(
        type="amount_off", id="full-50", off_fen=500, min_spend_fen=5000, exclude_promoted=True
    )  # 满50减5，特价商品不参与
    rice_m = promo(type="member_price", id="rice-m", prices={RICE: 5490})
    lines = [Line.counted(RICE, 1, 5990), Line.counted(CHIPS, 2, 650)]
    cart = price(lines, full_50, rice_m, member=True)
    assert discounts(cart) == [500, 0]  # the chips alone (¥13.00) are short of ¥50


def test_exclude_promoted_is_only_for_cart_promotions() -> None:
    with pytest.raises(ValidationError, match="exclude_promoted"):
        promo(type="percent_off", id="p", percent=10, skus=[MILK], exclude_promoted=True)


def test_a_line_shows_its_line_promotion_then_its_share_of_the_cart_one() -> None:
    milk_88 = promo(type="percent_off", id="milk-88", percent=12, skus=[MILK])
    all_95 = promo(type="percent_off", id="all-95", percent=5)
    cart = price([Line.counted(MILK, 2, 450)], all_95, milk_88)
    assert [d.promotion_id for d in cart.lines[0].discounts] == ["milk-88", "all-95"]
    assert cart.lines[0].discounts[1].fen == 40  # 5 % of the ¥7.92 left


def test_the_cart_totals_each_promotion_in_the_order_taken() -> None:
    cola = promo(type="buy_n_get_m", id="cola-b2g1", skus=[COLA], buy=2, get=1)
    milk_88 = promo(type="percent_off", id="milk-88", percent=12, skus=[MILK])
    all_95 = promo(type="percent_off", id="all-95", percent=5)
    lines = [Line.counted(MILK, 2, 450), Line.counted(COLA, 3, 300)]
    cart = price(lines, all_95, milk_88, cola)
    assert [(a.promotion_id, a.fen) for a in cart.applied] == [
        ("cola-b2g1", 300),
        ("milk-88", 108),
        ("all-95", 70),
    ]


# --- time windows -----------------------------------------------------------------------


def test_a_promotion_outside_its_window_is_not_applied() -> None:
    wednesdays = promo(type="percent_off", id="wed", percent=12, skus=[MILK], window={"days": [3]})
    lines = [Line.counted(MILK, 2, 450)]
    assert price(lines, wednesdays, at=WEDNESDAY).discount_fen == 108
    assert price(lines, wednesdays, at=WEDNESDAY + timedelta(days=2)).discount_fen == 0


def test_a_window_starts_inclusive_and_ends_exclusive() -> None:
    evening = TimeWindow.model_validate({"start_time": "20:00", "end_time": "22:00"})
    assert evening.contains(datetime(2026, 3, 4, 20, 0))
    assert evening.contains(datetime(2026, 3, 4, 21, 59, 59))
    assert not evening.contains(datetime(2026, 3, 4, 22, 0))


def test_an_overnight_window_belongs_to_the_evening_it_opened() -> None:
    friday_night = TimeWindow.model_validate(
        {"days": [5], "start_time": "22:00", "end_time": "02:00"}
    )
    assert friday_night.contains(datetime(2026, 3, 6, 23, 0))  # Friday
    assert friday_night.contains(datetime(2026, 3, 7, 1, 30))  # Saturday, small hours
    assert not friday_night.contains(datetime(2026, 3, 6, 1, 30))  # Friday, small hours
    assert not friday_night.contains(datetime(2026, 3, 7, 2, 0))


def test_a_windows_dates_are_inclusive() -> None:
    spring = TimeWindow.model_validate({"start_date": "2026-02-14", "end_date": "2026-02-24"})
    assert spring.contains(datetime(2026, 2, 14, 0, 0))
    assert spring.contains(datetime(2026, 2, 24, 23, 59))
    assert not spring.contains(datetime(2026, 2, 25, 0, 0))


def test_an_overnight_window_runs_past_midnight_after_its_last_date() -> None:
    last = TimeWindow.model_validate(
        {"start_time": "22:00", "end_time": "02:00", "end_date": "2026-03-06"}
    )
    assert last.contains(datetime(2026, 3, 7, 1, 0))
    assert not last.contains(datetime(2026, 3, 7, 23, 0))


def test_a_zoned_time_is_read_by_its_wall_clock() -> None:
    evening = TimeWindow(start_time=datetime(2026, 1, 1, 20).time(), end_time=None)
    beijing = timezone(timedelta(hours=8))
    assert evening.contains(datetime(2026, 3, 4, 20, 30, tzinfo=beijing))


def test_a_window_refuses_a_number_for_a_date() -> None:
    with pytest.raises(ValidationError):
        TimeWindow.model_validate({"start_date": 0})


def test_a_window_refuses_the_same_start_and_end_time() -> None:
    with pytest.raises(ValidationError, match="same"):
        TimeWindow.model_validate({"start_time": "08:00", "end_time": "08:00"})


def test_a_window_refuses_an_end_date_before_its_start() -> None:
    with pytest.raises(ValidationError, match="before"):
        TimeWindow.model_validate({"start_date": "2026-03-02", "end_date": "2026-03-01"})


# --- as HQ authors them -----------------------------------------------------------------


def test_promotions_are_strict_about_numbers() -> None:
    with pytest.raises(ValidationError):
        promo(type="percent_off", id="p", percent="12", skus=[MILK])


def test_a_percent_off_of_a_hundred_is_refused() -> None:
    with pytest.raises(ValidationError):
        promo(type="percent_off", id="p", percent=100, skus=[MILK])


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        promo(type="percent_off", id="p", percent=12, skus=[MILK], stackable=True)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError):
        promo(type="lucky_draw", id="p")


def test_a_promotion_comes_back_the_same_from_json() -> None:
    p = promo(
        type="amount_off",
        id="drinks",
        name="饮料满10减2",
        off_fen=200,
        skus=[COLA, TEA],
        min_spend_fen=1000,
        window={"days": [6, 7], "start_time": "09:00", "end_date": "2026-03-31"},
    )
    assert PROMOTION.validate_json(PROMOTION.dump_json(p)) == p
    assert PROMOTION.validate_python(PROMOTION.dump_python(p, mode="json")) == p


def test_promotion_ids_must_be_unique() -> None:
    a = promo(type="percent_off", id="same", percent=10, skus=[MILK])
    with pytest.raises(ConfigurationError, match="same"):
        price([Line.counted(MILK, 1, 450)], a, a)
    with pytest.raises(ValidationError, match="same"):
        PromotionSet(promotions=(a, a))


def test_a_line_whose_amount_is_not_its_price_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        Line(MILK, 2, 450, 800)


# --- properties -------------------------------------------------------------------------

SKUS = [COLA, SPRITE, TEA, MILK, RICE, PORK]


@st.composite
def carts(draw: st.DrawFn) -> list[Line]:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        sku = draw(st.sampled_from(SKUS))
        unit = draw(st.integers(0, 20_000))
        if sku == PORK:
            lines.append(Line.weighed(sku, unit, draw(st.integers(1, 5_000))))
        else:
            lines.append(Line.counted(sku, draw(st.integers(1, 12)), unit))
    return lines


@st.composite
def promotion_sets(draw: st.DrawFn) -> list[Promotion]:
    made: list[Promotion] = []
    for n in range(draw(st.integers(0, 6))):
        skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True))
        cart_wide = draw(st.booleans())
        spend = draw(st.sampled_from([0, 1000, 5000]))
        kind = draw(st.sampled_from(["percent", "amount", "bngm", "member"]))
        base: dict[str, Any] = {"id": f"p{n}", "name": f"促销{n}"}
        if kind == "percent":
            made.append(
                PercentOff(
                    **base,
                    percent=draw(st.integers(1, 99)),
                    skus=None if cart_wide else tuple(skus),
                    min_spend_fen=spend,
                )
            )
        elif kind == "amount":
            made.append(
                AmountOff(
                    **base,
                    off_fen=draw(st.integers(1, 50_000)),
                    skus=None if cart_wide else tuple(skus),
                    min_spend_fen=spend,
                    exclude_promoted=cart_wide and draw(st.booleans()),
                )
            )
        elif kind == "bngm":
            made.append(
                BuyNGetM(
                    **base,
                    skus=tuple(skus),
                    buy=draw(st.integers(1, 3)),
                    get=draw(st.integers(1, 2)),
                    free=draw(st.sampled_from(["same_sku", "cheapest"])),
                )
            )
        else:
            made.append(MemberPrice(**base, prices={s: draw(st.integers(0, 20_000)) for s in skus}))
    return made


@settings(max_examples=150, deadline=None)
@given(lines=carts(), promotions=promotion_sets(), member=st.booleans())
def test_the_total_is_the_lines_less_their_discounts_and_no_line_goes_below_zero(
    lines: list[Line], promotions: list[Promotion], member: bool
) -> None:
    cart = price(lines, *promotions, member=member)
    assert cart.total_fen == cart.subtotal_fen - cart.discount_fen
    assert all(0 <= p.net_fen <= p.line.amount_fen for p in cart.lines)
    assert all(d.fen > 0 for p in cart.lines for d in p.discounts)
    assert sum(a.fen for a in cart.applied) == cart.discount_fen
    cart_wide = {p.id for p in promotions if p.scope is None}
    for line in cart.lines:
        by_line = [d for d in line.discounts if d.promotion_id not in cart_wide]
        by_cart = [d for d in line.discounts if d.promotion_id in cart_wide]
        assert len(by_line) <= 1 and len(by_cart) <= 1


@settings(max_examples=100, deadline=None)
@given(lines=carts(), promotions=promotion_sets(), member=st.booleans(), seed=st.randoms())
def test_the_order_promotions_come_in_changes_nothing(
    lines: list[Line], promotions: list[Promotion], member: bool, seed: Any
) -> None:
    shuffled = list(promotions)
    seed.shuffle(shuffled)
    assert price(lines, *promotions, member=member) == price(lines, *shuffled, member=member)
