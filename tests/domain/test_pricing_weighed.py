"""Weighed goods: price per kg × settled weight, half-up to the fen, tare taken off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.pricing.errors import BadWeight
from domain.pricing.weighed import MAX_WEIGHT_G, Weighed, weigh, weighed_amount


def test_pork_at_38_80_a_kilo_for_512_grams_is_19_87() -> None:
    assert weigh(3880, 512) == Weighed(3880, 512, 0, 512, 1987)  # 1986.56 fen


def test_half_a_fen_rounds_up() -> None:
    assert weighed_amount(990, 50) == 50  # 小葱 ¥9.90/kg × 50 g = 49.5 fen


def test_less_than_half_a_fen_rounds_down() -> None:
    assert weighed_amount(990, 51) == 50  # 50.49 fen


def test_the_tare_is_taken_off_before_pricing() -> None:
    apples = weigh(1280, 1250, tare_g=50)  # 苹果 ¥12.80/kg, 50 g tray
    assert (apples.net_g, apples.amount_fen) == (1200, 1536)


def test_an_empty_scale_is_refused() -> None:
    with pytest.raises(BadWeight) as refused:
        weigh(3880, 0)
    assert "请放上商品" in refused.value.message_zh


def test_a_tare_not_less_than_the_weight_is_refused() -> None:
    with pytest.raises(BadWeight, match="tare"):
        weigh(3880, 50, tare_g=50)


def test_a_negative_tare_is_refused() -> None:
    with pytest.raises(BadWeight):
        weigh(3880, 512, tare_g=-5)


def test_a_weight_no_scale_could_weigh_is_refused() -> None:
    with pytest.raises(BadWeight):
        weigh(3880, MAX_WEIGHT_G + 1)


@settings(max_examples=300, deadline=None)
@given(price=st.integers(0, 1_000_000), grams=st.integers(1, MAX_WEIGHT_G))
def test_the_amount_is_within_half_a_fen_of_the_exact_product(price: int, grams: int) -> None:
    exact_milli_fen = price * grams  # fen × 1000
    assert abs(weighed_amount(price, grams) * 1000 - exact_milli_fen) <= 500
