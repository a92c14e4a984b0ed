"""Price-embedded barcodes: the labels a store's scales and label printers make.

GS1 keeps the EAN-13 prefixes 20–29 for restricted circulation: numbers a store gives
itself, never a manufacturer's GTIN. Weighed and cut goods (meat, produce, deli) carry
such a label: its PLU (the item's number in the scale) and the price or the weight of
that one pack. The store sets, per prefix, how its labels are laid out
(`EmbeddedLayout`); `decode` reads a scanned code by those layouts:

    prefix (2) │ PLU (4–6) │ [value check digit (1)] │ value (4–6) │ EAN check (1)

The PLU, the optional check digit and the value fill the ten digits between prefix
and EAN check digit. The value is the price in fen or the weight in grams.

**The layout of most label scales in China**, "FF WWWWW EEEEE C" (标识位 + 商品代码 +
金额/重量 + 校验位): a flag of "2" and one digit, a 5-digit PLU, a 5-digit price in fen
(up to ¥999.99) or weight in grams (up to 99.999 kg), and the EAN check digit; no value
check digit. For example, with prefix "20" for price labels and "21" for weight labels:

    2000123019871   PLU 00123 (猪肉), price 01987 fen    → Embedded(plu="00123", price_fen=1987)
    2100123005123   PLU 00123, weight 00512 g            → Embedded(plu="00123", weight_g=512)

`CHINA_SCALE_PRICE` and `CHINA_SCALE_WEIGHT` are these two layouts. A GS1 layout with a
price check digit (common in Europe, and offered by imported scales) is, for example,
`EmbeddedLayout(prefixes=("23",), plu_digits=5, value="price_fen", value_digits=4,
value_check_digit=True)`:

    2312345928757   PLU 12345, price check 9, price 2875 fen → Embedded(plu="12345", price_fen=2875)

**Refusals.** A code that matches a layout but whose EAN check digit is wrong is a
misread or a torn label, and is refused (`BadBarcode`), as is one whose value check digit
is wrong (`BadValueCheckDigit`): reading either would sell at a wrong price. A code of no
layout (any other EAN-13, an EAN-8, a prefix-2 number the store uses as a plain SKU) is a
normal code: `decode` answers None and the till looks it up as it is.

**Check digits.** The EAN-13 check digit is the GS1 mod-10 sum (weights 3 and 1 from
the right); the value check digit is GS1's price check digit for 4- and 5-digit fields
(General Specifications §7.9.3, weighting factors 2-, 3, 5+ and 5-), applied to the
weight field the same way where a layout checks a weight. `python-stdnum` is not
installed, and `python-barcode`, which is, comes only as `python-escpos`'s way of
drawing barcodes on receipts: the business rule should not lean on a printer driver's
dependency for a sum of a dozen digits, so both are written out here and tested against
GS1's own examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from domain.pricing.authored import Authored, Label, Listed
from domain.pricing.errors import BadBarcode, BadValueCheckDigit
from sync_protocol.errors import ConfigurationError

EAN13_LENGTH: Final = 13
#: The GS1 prefixes for numbers of restricted circulation within a company.
IN_STORE_PREFIXES: Final = tuple(str(p) for p in range(20, 30))

Prefix = Annotated[str, Field(pattern=r"^2[0-9]$")]
ValueKind = Literal["price_fen", "weight_g"]


class EmbeddedLayout(Authored):
    """How a store's labels of some prefixes are laid out (one per kind of label). With
    a value check digit the value has 4 or 5 digits, as GS1 defines the check for."""

    name: Label | None = None
    prefixes: Listed[Prefix] = Field(min_length=1, max_length=10)
    plu_digits: StrictInt = Field(ge=4, le=6)
    value: ValueKind
    value_digits: StrictInt = Field(ge=4, le=6)
    value_check_digit: StrictBool = False

    @model_validator(mode="after")
    def _fits_thirteen_digits(self) -> EmbeddedLayout:
        between = self.plu_digits + self.value_digits + int(self.value_check_digit)
        if between != EAN13_LENGTH - 3:
            raise ValueError(
                f"PLU ({self.plu_digits}), value ({self.value_digits}) and check digit "
                f"({int(self.value_check_digit)}) must fill the 10 digits between prefix "
                "and EAN check digit"
            )
        if len(set(self.prefixes)) != len(self.prefixes):
            raise ValueError("a prefix is listed twice")
        return self


CHINA_SCALE_PRICE: Final = EmbeddedLayout(
    name="称重标签（金额）", prefixes=("20",), plu_digits=5, value="price_fen", value_digits=5
)
CHINA_SCALE_WEIGHT: Final = EmbeddedLayout(
    name="称重标签（重量）", prefixes=("21",), plu_digits=5, value="weight_g", value_digits=5
)


@dataclass(frozen=True)
class Embedded:
    """What a price-embedded label says. `plu` keeps its leading zeros, as the scale
    numbers it; exactly one of `price_fen` and `weight_g` is set."""

    code: str
    plu: str
    price_fen: int | None = None
    weight_g: int | None = None


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for `body`, a GTIN without its last digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def has_valid_check_digit(code: str) -> bool:
    """Whether `code` (an EAN-13, EAN-8, UPC-A or GTIN-14) is all digits and its last
    digit is the check digit of the others."""
    if not (code.isascii() and code.isdigit()) or len(code) < 8:
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


# GS1 weighting factors of the price check digit: the product's digit for each digit.
_TWO_MINUS: Final = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)  # ×2, tens subtracted from units
_THREE: Final = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)  # ×3, units
_FIVE_PLUS: Final = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)  # ×5, tens added to units
_FIVE_MINUS: Final = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)  # ×5, tens subtracted from units
_FACTORS: Final[dict[int, tuple[tuple[int, ...], ...]]] = {
    4: (_TWO_MINUS, _TWO_MINUS, _THREE, _FIVE_MINUS),
    5: (_FIVE_PLUS, _TWO_MINUS, _FIVE_MINUS, _FIVE_PLUS, _TWO_MINUS),
}


def value_check_digit(value: str) -> int:
    """GS1's price check digit of a 4- or 5-digit price (or weight) field."""
    if not (value.isascii() and value.isdigit()) or len(value) not in (4, 5):
        raise ValueError(f"a value check digit needs 4 or 5 digits, not {value!r}")
    factors = _FACTORS[len(value)]
    total = sum(f[int(d)] for f, d in zip(factors, value, strict=True))
    if len(value) == 4:
        return total * 3 % 10
    return _FIVE_MINUS.index((10 - total % 10) % 10)


def decode(code: str, layouts: Sequence[EmbeddedLayout]) -> Embedded | None:
    """Read a scanned code by the store's layouts: an `Embedded` for a price-embedded
    label, None for a normal code. Raises `BadBarcode` / `BadValueCheckDigit` for a
    label of a layout whose check digits are wrong, and `ConfigurationError` when two of
    the store's layouts claim the code's prefix."""
    code = code.strip()
    if len(code) != EAN13_LENGTH or not (code.isascii() and code.isdigit()):
        return None
    prefix = code[:2]
    matching = [layout for layout in layouts if prefix in layout.prefixes]
    if not matching:
        return None
    if len(matching) > 1:
        raise ConfigurationError(
            f"{len(matching)} barcode layouts claim prefix {prefix}: give each prefix one"
        )
    layout = matching[0]
    if gtin_check_digit(code[:-1]) != int(code[-1]):
        raise BadBarcode(
            f"{code}: wrong check digit, a misread or damaged label: scan it again",
            message_zh=f"条码 {code} 校验位错误（误读或标签破损），请重新扫描",
        )
    at = 2 + layout.plu_digits
    plu = code[2:at]
    if layout.value_check_digit:
        value = code[at + 1 : -1]
        if value_check_digit(value) != int(code[at]):
            raise BadValueCheckDigit(
                f"{code}: the check digit of its {_VALUE_EN[layout.value]} is wrong: scan "
                "it again or key the item in",
                message_zh=f"条码 {code} 的{_VALUE_ZH[layout.value]}校验位错误，"
                "请重新扫描或手工录入",
            )
    else:
        value = code[at:-1]
    if layout.value == "price_fen":
        return Embedded(code, plu, price_fen=int(value))
    return Embedded(code, plu, weight_g=int(value))


_VALUE_EN: Final = {"price_fen": "price", "weight_g": "weight"}
_VALUE_ZH: Final = {"price_fen": "金额", "weight_g": "重量"}
