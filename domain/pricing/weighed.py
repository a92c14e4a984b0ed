"""Weighed goods: the amount of a line sold by weight.

The catalog prices weighed goods per kilogram (in fen) and the scale reports whole grams
(`devices.scale.readings.Reading.grams`, taken only when it is `stable`: the settled
weight). The amount is unit price × net weight, rounded half-up to the fen once, at the
end, in integers: 猪肉 ¥38.80/kg × 512 g = 3880 × 512 / 1000 = 1986.56 fen → ¥19.87.

A tare (the tray or bag, keyed in or preset per item) is taken off the gross weight
before pricing. A scale that already applied its own tare reports net, and the till
passes that as the gross with no tare here, so a tare is never taken twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from domain.catalog.kinds import MAX_PRICE_FEN
from domain.pricing.errors import BadWeight
from domain.pricing.money import div_half_up

GRAMS_PER_KG: Final = 1000
MAX_WEIGHT_G: Final = 1_000_000  # one tonne: more is a misread, not a weight


@dataclass(frozen=True)
class Weighed:
    """A weighed line: what was on the scale, what is sold, and its amount."""

    unit_price_fen_per_kg: int
    gross_g: int
    tare_g: int
    net_g: int
    amount_fen: int


def weighed_amount(unit_price_fen_per_kg: int, net_g: int) -> int:
    """Unit price per kg × net grams, half-up to the fen."""
    if not 0 <= unit_price_fen_per_kg <= MAX_PRICE_FEN:
        raise ValueError(f"unit price {unit_price_fen_per_kg} fen/kg is out of range")
    if net_g < 0:
        raise ValueError(f"net weight {net_g} g is negative")
    return div_half_up(unit_price_fen_per_kg * net_g, GRAMS_PER_KG)


def weigh(unit_price_fen_per_kg: int, gross_g: int, *, tare_g: int = 0) -> Weighed:
    """Price a settled weight. Refuses (`BadWeight`) nothing on the scale, a negative
    tare, a tare not less than the gross, and a weight over `MAX_WEIGHT_G`."""
    if gross_g <= 0:
        raise BadWeight(
            f"the scale reads {gross_g} g: put the goods on the scale",
            message_zh=f"秤上读数为 {gross_g} 克，请放上商品后再称",
        )
    if gross_g > MAX_WEIGHT_G:
        raise BadWeight(
            f"{gross_g} g is more than any scale here weighs: weigh again",
            message_zh=f"重量 {gross_g} 克超出范围，请重新称重",
        )
    if tare_g < 0:
        raise BadWeight(
            f"a tare of {tare_g} g is negative", message_zh=f"皮重 {tare_g} 克不能为负数"
        )
    if tare_g >= gross_g:
        raise BadWeight(
            f"the tare ({tare_g} g) is not less than the weight ({gross_g} g): check the tare",
            message_zh=f"皮重（{tare_g} 克）不小于毛重（{gross_g} 克），请检查皮重",
        )
    net_g = gross_g - tare_g
    return Weighed(
        unit_price_fen_per_kg, gross_g, tare_g, net_g, weighed_amount(unit_price_fen_per_kg, net_g)
    )
