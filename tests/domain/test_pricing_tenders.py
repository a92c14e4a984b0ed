"""Paying a sale: cash and its change, card / WeChat / Alipay / points, split tenders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.pricing.errors import (
    DuplicateTender,
    IncompletePayment,
    NonCashOverpay,
    PaymentRefused,
)
from domain.pricing.tenders import (
    Alipay,
    Card,
    Cash,
    Points,
    Settlement,
    Tender,
    WeChat,
    settle,
)

TENDER: TypeAdapter[Tender] = TypeAdapter(Tender)


def test_cash_over_the_total_gives_change() -> None:
    # ¥36.80 paid with a ¥50 note
    paid = settle(3680, [Cash(tendered_fen=5000)], cash_rounding=False)
    assert paid == Settlement(
        (Cash(tendered_fen=5000),), change_fen=1320, rounding_fen=0, paid_fen=3680
    )


def test_exact_cash_gives_no_change() -> None:
    assert settle(3680, [Cash(tendered_fen=3680)], cash_rounding=False).change_fen == 0


def test_too_little_cash_is_refused_saying_how_much_is_missing() -> None:
    with pytest.raises(IncompletePayment) as refused:
        settle(3680, [Cash(tendered_fen=2000)], cash_rounding=False)
    assert refused.value.short_fen == 1680
    assert "还差 ¥16.80" in refused.value.message_zh


def test_wechat_pays_exactly_the_total() -> None:
    paid = settle(3680, [WeChat(amount_fen=3680, reference="4200001234")], cash_rounding=False)
    assert (paid.change_fen, paid.paid_fen) == (0, 3680)


def test_wechat_over_the_total_is_refused_as_it_gives_no_change() -> None:
    with pytest.raises(NonCashOverpay) as refused:
        settle(3680, [WeChat(amount_fen=5000, reference="4200001234")], cash_rounding=False)
    assert refused.value.over_fen == 1320
    assert "非现金不能找零" in refused.value.message_zh


def test_a_card_short_of_the_total_with_no_cash_is_refused() -> None:
    with pytest.raises(IncompletePayment):
        settle(3680, [Card(amount_fen=3000, reference="UP-889120")], cash_rounding=False)


def test_a_split_payment_applies_non_cash_first_and_cash_last_with_the_change() -> None:
    # ¥258.60: ¥20.00 of points, ¥200.00 by Alipay, the rest from a ¥50 note
    cash = Cash(tendered_fen=5000)
    points = Points(amount_fen=2000, reference="member-13800138000")
    alipay = Alipay(amount_fen=20000, reference="2026030422001")
    paid = settle(25860, [cash, points, alipay], cash_rounding=False)
    assert paid.tenders == (points, alipay, cash)
    assert paid.change_fen == 5000 - (25860 - 2000 - 20000)


def test_non_cash_over_the_total_is_refused_even_with_cash_as_well() -> None:
    with pytest.raises(NonCashOverpay):
        settle(
            3680,
            [Alipay(amount_fen=4000, reference="2026030422001"), Cash(tendered_fen=100)],
            cash_rounding=False,
        )


def test_the_same_payment_reference_twice_is_refused() -> None:
    twice = [WeChat(amount_fen=1000, reference="4200001234")] * 2
    with pytest.raises(DuplicateTender):
        settle(2000, twice, cash_rounding=False)


def test_the_same_reference_on_different_kinds_of_tender_is_two_payments() -> None:
    tenders: list[Tender] = [
        WeChat(amount_fen=1000, reference="8812"),
        Card(amount_fen=1000, reference="8812"),
    ]
    assert settle(2000, tenders, cash_rounding=False).paid_fen == 2000


def test_a_sale_of_nothing_is_settled_without_tender() -> None:
    assert settle(0, [], cash_rounding=True) == Settlement((), 0, 0, 0)


def test_no_tender_for_a_sale_is_refused() -> None:
    with pytest.raises(IncompletePayment):
        settle(3680, [], cash_rounding=False)


def test_more_tenders_than_a_sale_takes_are_refused() -> None:
    with pytest.raises(PaymentRefused):
        settle(1100, [Cash(tendered_fen=100)] * 11, cash_rounding=False)


def test_what_each_kind_brought_in_counts_cash_less_its_change() -> None:
    tenders: list[Tender] = [
        WeChat(amount_fen=10000, reference="4200001234"),
        Cash(tendered_fen=5000),
    ]
    paid = settle(12345, tenders, cash_rounding=True)
    assert paid.net_by_type() == {"wechat": 10000, "cash": 2350}


def test_a_tender_arrives_as_json_told_apart_by_its_type() -> None:
    tender = TENDER.validate_python({"type": "alipay", "amount_fen": 100, "reference": "2026A"})
    assert tender == Alipay(amount_fen=100, reference="2026A")


def test_an_electronic_tender_needs_its_reference() -> None:
    with pytest.raises(ValidationError):
        TENDER.validate_python({"type": "wechat", "amount_fen": 100})


def test_tenders_are_strict_about_numbers() -> None:
    with pytest.raises(ValidationError):
        TENDER.validate_python({"type": "cash", "tendered_fen": "100"})


def test_a_tender_of_nothing_is_refused() -> None:
    with pytest.raises(ValidationError):
        Cash(tendered_fen=0)


# --- properties -------------------------------------------------------------------------

NON_CASH = st.one_of(
    st.builds(Card, amount_fen=st.integers(1, 50_000), reference=st.uuids().map(str)),
    st.builds(WeChat, amount_fen=st.integers(1, 50_000), reference=st.uuids().map(str)),
    st.builds(Alipay, amount_fen=st.integers(1, 50_000), reference=st.uuids().map(str)),
    st.builds(Points, amount_fen=st.integers(1, 50_000)),
)
TENDERS = st.lists(
    st.one_of(NON_CASH, st.builds(Cash, tendered_fen=st.integers(1, 100_000))), max_size=5
)


@settings(max_examples=500, deadline=None)
@given(total=st.integers(0, 200_000), tenders=TENDERS, rounding=st.booleans())
def test_a_settlement_always_adds_up_and_never_gives_negative_change(
    total: int, tenders: list[Tender], rounding: bool
) -> None:
    try:
        paid = settle(total, tenders, cash_rounding=rounding)
    except PaymentRefused:
        return
    assert paid.change_fen >= 0
    assert paid.tendered_fen - paid.change_fen == paid.paid_fen == total + paid.rounding_fen
    assert -4 <= paid.rounding_fen <= 5
    assert sum(paid.net_by_type().values()) == paid.paid_fen
    non_cash = sum(t.amount_fen for t in paid.tenders if not isinstance(t, Cash))
    assert non_cash <= total


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 200_000), tenders=st.lists(NON_CASH, min_size=1, max_size=4))
def test_non_cash_alone_settles_only_at_exactly_the_total(
    total: int, tenders: list[Tender]
) -> None:
    amount = sum(t.amount_fen for t in tenders if not isinstance(t, Cash))
    try:
        settle(total, tenders, cash_rounding=True)
    except NonCashOverpay:
        assert amount > total
    except IncompletePayment:
        assert amount < total
    else:
        assert amount == total
