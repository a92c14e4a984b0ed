"""Integer fen arithmetic: half-up division, sharing an amount, writing it for staff."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.pricing.money import allocate, div_half_up, percent_of, yuan


def test_a_half_rounds_up() -> None:
    assert (div_half_up(5, 10), div_half_up(4, 10), div_half_up(15, 10)) == (1, 0, 2)


def test_a_percent_of_an_amount_rounds_half_up_to_the_fen() -> None:
    assert percent_of(1235, 10) == 124  # 123.5 fen


def test_a_negative_numerator_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        div_half_up(-5, 10)


def test_sharing_gives_the_odd_fen_to_the_largest_remainder() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(466, [5990, 1350, 1987]) == [299, 68, 99]


def test_sharing_across_nothing_is_only_possible_for_nothing() -> None:
    assert allocate(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        allocate(1, [0, 0])


def test_amounts_are_written_in_yuan() -> None:
    assert (yuan(1987), yuan(5), yuan(-4), yuan(0)) == ("¥19.87", "¥0.05", "-¥0.04", "¥0.00")


@settings(max_examples=300, deadline=None)
@given(weights=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=20), data=st.data())
def test_shares_add_up_and_none_exceeds_its_weight(weights: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))
