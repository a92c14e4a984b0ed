"""Price-embedded labels from the store's scales: reading them, and refusing misreads."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.pricing.errors import BadBarcode, BadValueCheckDigit
from domain.pricing.price_embedded import (
    CHINA_SCALE_PRICE,
    CHINA_SCALE_WEIGHT,
    Embedded,
    EmbeddedLayout,
    decode,
    gtin_check_digit,
    has_valid_check_digit,
    value_check_digit,
)
from sync_protocol.errors import ConfigurationError

STORE = [CHINA_SCALE_PRICE, CHINA_SCALE_WEIGHT]  # "20…" price labels, "21…" weight labels
GS1_PRICE_CHECKED = EmbeddedLayout(
    prefixes=("23",), plu_digits=5, value="price_fen", value_digits=4, value_check_digit=True
)


def with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


# --- check digits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["4006381333931", "5901234123457", "9780964092303", "96385074", "036000241457"]
)
def test_published_gtins_have_valid_check_digits(code: str) -> None:
    assert has_valid_check_digit(code)


def test_a_changed_digit_fails_the_check() -> None:
    assert not has_valid_check_digit("4006381333932")


def test_gs1_example_of_a_four_digit_price_check_digit() -> None:
    assert value_check_digit("2875") == 9


def test_gs1_example_of_a_five_digit_price_check_digit() -> None:
    assert value_check_digit("14685") == 6


def test_a_price_check_digit_needs_four_or_five_digits() -> None:
    with pytest.raises(ValueError, match="4 or 5"):
        value_check_digit("123456")


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_our_check_digit_agrees_with_python_barcode(body: str) -> None:
    ean = pytest.importorskip("barcode.ean")
    assert gtin_check_digit(body) == ean.EuropeanArticleNumber13(body).calculate_checksum()


# --- reading labels ---------------------------------------------------------------------


def test_a_chinese_scale_price_label_gives_its_plu_and_price_in_fen() -> None:
    # 猪肉, PLU 00123, ¥19.87 printed by the scale
    assert decode("2000123019871", STORE) == Embedded("2000123019871", "00123", price_fen=1987)


def test_a_chinese_scale_weight_label_gives_its_plu_and_grams() -> None:
    assert decode("2100123005123", STORE) == Embedded("2100123005123", "00123", weight_g=512)


def test_the_plu_keeps_its_leading_zeros() -> None:
    found = decode(with_check("200000700880"), STORE)
    assert found is not None and found.plu == "00007" and found.price_fen == 880


def test_a_label_with_a_gs1_price_check_digit_is_read() -> None:
    assert decode("2312345928757", [GS1_PRICE_CHECKED]) == Embedded(
        "2312345928757", "12345", price_fen=2875
    )


def test_a_five_digit_price_with_its_check_digit_is_read() -> None:
    layout = EmbeddedLayout(
        prefixes=("24",), plu_digits=4, value="price_fen", value_digits=5, value_check_digit=True
    )
    code = with_check("24" + "1234" + "6" + "14685")
    assert decode(code, [layout]) == Embedded(code, "1234", price_fen=14685)


def test_a_wrong_ean_check_digit_is_refused_in_both_languages() -> None:
    with pytest.raises(BadBarcode) as refused:
        decode("2000123019872", STORE)
    assert "scan it again" in refused.value.message
    assert "重新扫描" in refused.value.message_zh


def test_a_wrong_price_check_digit_is_refused_even_with_a_right_ean_check_digit() -> None:
    code = with_check("23" + "12345" + "8" + "2875")  # the price's check digit is 9
    with pytest.raises(BadValueCheckDigit) as refused:
        decode(code, [GS1_PRICE_CHECKED])
    assert "金额校验位错误" in refused.value.message_zh


def test_a_manufacturers_gtin_is_a_normal_code() -> None:
    assert decode(with_check("690123456789"), STORE) is None


def test_an_in_store_prefix_no_layout_claims_is_a_normal_code() -> None:
    assert decode(with_check("220012301987"), STORE) is None


def test_an_in_store_prefix_no_layout_claims_is_not_checked() -> None:
    assert decode("2200123019870", STORE) is None  # wrong check digit, but not ours to read


@pytest.mark.parametrize("code", ["20001230", "6901234", "20001230198711", "2000123O19871"])
def test_codes_that_are_not_thirteen_ascii_digits_are_normal(code: str) -> None:
    assert decode(code, STORE) is None


def test_full_width_digits_are_not_read_as_a_label() -> None:
    assert decode("２０００１２３０１９８７１", STORE) is None


def test_whitespace_from_the_scanner_is_ignored() -> None:
    assert decode(" 2000123019871\r\n", STORE) == Embedded("2000123019871", "00123", price_fen=1987)


def test_two_layouts_claiming_one_prefix_is_a_configuration_error() -> None:
    clash = EmbeddedLayout(prefixes=("20",), plu_digits=6, value="price_fen", value_digits=4)
    with pytest.raises(ConfigurationError, match="prefix 20"):
        decode("2000123019871", [CHINA_SCALE_PRICE, clash])


# --- the layout a store sets ------------------------------------------------------------


def test_a_layout_must_fill_the_ten_digits_between_prefix_and_check_digit() -> None:
    with pytest.raises(ValidationError, match="10 digits"):
        EmbeddedLayout(prefixes=("20",), plu_digits=5, value="price_fen", value_digits=4)


def test_a_value_check_digit_leaves_four_or_five_digits_for_the_value() -> None:
    with pytest.raises(ValidationError, match="10 digits"):
        EmbeddedLayout(
            prefixes=("20",),
            plu_digits=4,
            value="price_fen",
            value_digits=6,
            value_check_digit=True,
        )


def test_a_layout_only_claims_in_store_prefixes() -> None:
    with pytest.raises(ValidationError):
        EmbeddedLayout(prefixes=("69",), plu_digits=5, value="price_fen", value_digits=5)


def test_a_layout_arrives_as_json_with_a_list_of_prefixes() -> None:
    layout = EmbeddedLayout.model_validate(
        {"prefixes": ["20", "22"], "plu_digits": 5, "value": "weight_g", "value_digits": 5}
    )
    assert layout.prefixes == ("20", "22")
    assert EmbeddedLayout.model_validate(layout.model_dump(mode="json")) == layout


def test_a_layout_is_strict_about_numbers() -> None:
    with pytest.raises(ValidationError):
        EmbeddedLayout.model_validate(
            {"prefixes": ["20"], "plu_digits": "5", "value": "price_fen", "value_digits": 5}
        )


# --- properties -------------------------------------------------------------------------

LAYOUTS = st.sampled_from(
    [
        CHINA_SCALE_PRICE,
        CHINA_SCALE_WEIGHT,
        GS1_PRICE_CHECKED,
        EmbeddedLayout(
            prefixes=("24", "25"),
            plu_digits=4,
            value="weight_g",
            value_digits=5,
            value_check_digit=True,
        ),
        EmbeddedLayout(prefixes=("28",), plu_digits=6, value="price_fen", value_digits=4),
        EmbeddedLayout(prefixes=("29",), plu_digits=4, value="price_fen", value_digits=6),
    ]
)


@st.composite
def labels(draw: st.DrawFn) -> tuple[EmbeddedLayout, str, int, str]:
    layout = draw(LAYOUTS)
    prefix = draw(st.sampled_from(layout.prefixes))
    plu = draw(
        st.text(alphabet="0123456789", min_size=layout.plu_digits, max_size=layout.plu_digits)
    )
    value = draw(st.integers(0, 10**layout.value_digits - 1))
    digits = f"{value:0{layout.value_digits}d}"
    check = str(value_check_digit(digits)) if layout.value_check_digit else ""
    return layout, plu, value, with_check(prefix + plu + check + digits)


@settings(max_examples=300, deadline=None)
@given(label=labels())
def test_every_label_a_layout_prints_reads_back(
    label: tuple[EmbeddedLayout, str, int, str],
) -> None:
    layout, plu, value, code = label
    found = decode(code, [layout])
    assert found is not None and found.plu == plu
    assert (found.price_fen if layout.value == "price_fen" else found.weight_g) == value


@settings(max_examples=300, deadline=None)
@given(label=labels(), at=st.integers(0, 12), digit=st.integers(1, 9))
def test_one_misread_digit_is_never_read_as_a_label(
    label: tuple[EmbeddedLayout, str, int, str], at: int, digit: int
) -> None:
    layout, _, _, code = label
    misread = code[:at] + str((int(code[at]) + digit) % 10) + code[at + 1 :]
    with contextlib.suppress(BadBarcode):
        assert decode(misread, [layout]) is None  # the prefix moved off the layout
