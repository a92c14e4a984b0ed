"""A cashier's discounts and price changes: within the role's limit, else a supervisor."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.pricing.discounts import (
    DEFAULT_LIMITS,
    CounterLimits,
    Limit,
    ManualDiscount,
    RoleLimits,
    cart_discount,
    item_discount,
    price_override,
)
from domain.pricing.errors import DiscountRefused, NeedsAuthorisation
from domain.staff.kinds import ActionAuthorised

# Cashier: 10 % and at most ¥20.00; supervisor 30 % and ¥200.00; manager anything.
LIMITS = DEFAULT_LIMITS


def off(percent: int | None = None, amount_fen: int | None = None) -> ManualDiscount:
    return ManualDiscount(percent=percent, amount_fen=amount_fen)


def test_a_cashier_gives_a_discount_within_the_limit() -> None:
    # 临期酸奶 ¥12.80, 9折
    assert item_discount(1280, off(percent=10), role="cashier", limits=LIMITS) == 128


def test_a_percent_discount_rounds_half_up() -> None:
    assert item_discount(645, off(percent=10), role="supervisor", limits=LIMITS) == 65


def test_a_keyed_percent_is_measured_as_keyed_not_by_its_rounded_fen() -> None:
    # 10 % of ¥6.45 is 65 fen (10.08 %): still the cashier's 10 %
    assert item_discount(645, off(percent=10), role="cashier", limits=LIMITS) == 65


def test_an_amount_keyed_is_measured_by_its_share_of_the_line() -> None:
    with pytest.raises(NeedsAuthorisation):  # 65 fen of ¥6.45 is over 10 %
        item_discount(645, off(amount_fen=65), role="cashier", limits=LIMITS)


def test_a_cashier_over_the_percent_limit_needs_a_supervisor() -> None:
    with pytest.raises(NeedsAuthorisation) as asked:
        item_discount(1280, off(percent=20), role="cashier", limits=LIMITS, sku="yogurt")
    assert (asked.value.action, asked.value.role) == ("discount_over_limit", "cashier")
    assert asked.value.change_fen == 256
    assert "请主管授权" in asked.value.message_zh


def test_a_cashier_over_the_fen_limit_needs_a_supervisor_even_within_the_percent() -> None:
    with pytest.raises(NeedsAuthorisation):  # 5 % of a ¥599.00 rice cooker is ¥29.95
        item_discount(59900, off(percent=5), role="cashier", limits=LIMITS)


def test_a_supervisor_authorises_within_their_own_limit() -> None:
    fen = item_discount(
        1280, off(percent=20), role="cashier", limits=LIMITS, authoriser_role="supervisor"
    )
    assert fen == 256


def test_over_the_supervisors_limit_too_asks_for_a_manager() -> None:
    with pytest.raises(NeedsAuthorisation) as asked:
        item_discount(
            1280, off(percent=50), role="cashier", limits=LIMITS, authoriser_role="supervisor"
        )
    assert asked.value.role == "supervisor"
    assert "请店长授权" in asked.value.message_zh


def test_a_manager_authorises_any_discount_up_to_the_whole_amount() -> None:
    fen = item_discount(
        1280, off(percent=100), role="cashier", limits=LIMITS, authoriser_role="manager"
    )
    assert fen == 1280


def test_a_role_without_limits_may_give_nothing_on_its_own() -> None:
    with pytest.raises(NeedsAuthorisation):
        item_discount(1280, off(amount_fen=1), role="warehouse", limits=LIMITS)


def test_a_discount_over_the_amount_is_refused_to_anyone() -> None:
    with pytest.raises(DiscountRefused) as refused:
        item_discount(
            1280, off(amount_fen=1500), role="manager", limits=LIMITS, authoriser_role="manager"
        )
    assert "负数" in refused.value.message_zh


def test_a_cart_discount_is_measured_against_the_cart() -> None:
    # ¥150.00 cart: ¥15.00 off is the cashier's 10 % and under their ¥20.00
    assert cart_discount(15000, off(amount_fen=1500), role="cashier", limits=LIMITS) == 1500
    with pytest.raises(NeedsAuthorisation):
        cart_discount(15000, off(amount_fen=1600), role="cashier", limits=LIMITS)


def test_a_cashier_may_not_change_a_price_on_their_own() -> None:
    with pytest.raises(NeedsAuthorisation) as asked:
        price_override(1280, 1000, role="cashier", limits=LIMITS, sku="yogurt")
    assert asked.value.action == "price_override"
    assert "改价" in asked.value.message_zh


def test_a_supervisor_changes_a_price_within_their_limit() -> None:
    assert price_override(1280, 1000, role="supervisor", limits=LIMITS) == -280


def test_raising_a_price_counts_as_a_change_too() -> None:
    with pytest.raises(NeedsAuthorisation):
        price_override(1000, 1500, role="supervisor", limits=LIMITS)  # +50 %


def test_keeping_the_price_needs_no_one() -> None:
    assert price_override(1280, 1280, role="cashier", limits=LIMITS) == 0


def test_a_price_below_zero_is_refused() -> None:
    with pytest.raises(DiscountRefused):
        price_override(1280, -1, role="manager", limits=LIMITS)


def test_a_limit_of_none_is_no_limit_of_that_kind() -> None:
    fen_only = CounterLimits(
        roles={"cashier": RoleLimits(discount=Limit(max_percent=None, max_fen=500))}
    )
    assert item_discount(600, off(amount_fen=500), role="cashier", limits=fen_only) == 500


def test_the_authorisation_detail_fits_the_authorised_action_op() -> None:
    with pytest.raises(NeedsAuthorisation) as asked:
        item_discount(1280, off(percent=20), role="cashier", limits=LIMITS, sku="6901234567892")
    ActionAuthorised(
        action=asked.value.action,
        staff_id="c01",
        by="s01",
        location="store-sh-01",
        detail=asked.value.detail,
    )
    assert asked.value.detail == "item 6901234567892: -¥2.56 of ¥12.80"


def test_a_store_sets_its_limits_as_json() -> None:
    limits = CounterLimits.model_validate(
        {"roles": {"cashier": {"discount": {"max_percent": 5, "max_fen": 1000}}}}
    )
    assert limits.of("cashier").discount == Limit(max_percent=5, max_fen=1000)
    assert limits.of("supervisor") == RoleLimits()


def test_limits_are_strict_about_numbers() -> None:
    with pytest.raises(ValidationError):
        CounterLimits.model_validate({"roles": {"cashier": {"discount": {"max_percent": "5"}}}})


def test_limits_name_only_known_roles() -> None:
    with pytest.raises(ValidationError):
        CounterLimits.model_validate({"roles": {"intern": {}}})


def test_a_manual_discount_is_a_percent_or_an_amount_not_both() -> None:
    with pytest.raises(ValidationError, match="one of them"):
        ManualDiscount(percent=10, amount_fen=100)
    with pytest.raises(ValidationError, match="one of them"):
        ManualDiscount()
