"""Cash rounding to the jiao: half-up, of the cash part only, its own line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.pricing.rounding import CashDue, cash_due, round_cash
from domain.pricing.tenders import Cash, Tender, WeChat, settle


def test_five_fen_rounds_up_to_the_jiao() -> None:
    assert cash_due(2345, enabled=True) == CashDue(2345, 2350)


def test_four_fen_rounds_down() -> None:
    assert cash_due(2344, enabled=True).rounding_fen == -4


def test_a_whole_jiao_is_not_rounded() -> None:
    assert cash_due(2340, enabled=True).rounding_fen == 0


def test_a_store_not_set_to_round_takes_the_exact_fen() -> None:
    assert cash_due(2345, enabled=False) == CashDue(2345, 2345)


def test_only_the_cash_part_of_a_split_payment_is_rounded() -> None:
    # ¥123.45: ¥100.00 by WeChat, the ¥23.45 left in cash is ¥23.50
    tenders: list[Tender] = [
        WeChat(amount_fen=10000, reference="wx-4200001"),
        Cash(tendered_fen=5000),
    ]
    paid = settle(12345, tenders, cash_rounding=True)
    assert (paid.rounding_fen, paid.change_fen) == (5, 2650)


def test_a_sale_paid_without_cash_is_not_rounded() -> None:
    paid = settle(12345, [WeChat(amount_fen=12345, reference="wx-4200001")], cash_rounding=True)
    assert paid.rounding_fen == 0


def test_the_rounding_is_kept_as_part_of_what_was_paid() -> None:
    paid = settle(2344, [Cash(tendered_fen=2340)], cash_rounding=True)
    assert (paid.paid_fen, paid.rounding_fen, paid.change_fen) == (2340, -4, 0)


@settings(max_examples=500, deadline=None)
@given(fen=st.integers(0, 100_000_000))
def test_rounding_lands_on_a_jiao_within_five_fen(fen: int) -> None:
    rounded = round_cash(fen)
    assert rounded % 10 == 0
    assert -4 <= rounded - fen <= 5
