"""Integer fen arithmetic for the counter: half-up division, percentages, sharing an
amount across lines, and how an amount is written for staff.

Money is an integer number of fen and weight an integer number of grams, so every
product here is an exact integer and only the final division rounds. That is why no
`Decimal` or `Fraction` is needed: `div_half_up(3880 * 512, 1000)` is exact where
`38.80 * 0.512` in floats is not. The rounding is half-up, the common practice at
Chinese tills (四舍五入): 1986.5 fen is 1987 fen.
"""

from __future__ import annotations

from collections.abc import Sequence


def div_half_up(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded half-up to an integer (both whole, the
    numerator not negative: amounts and weights here never are)."""
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, not {denominator}")
    if numerator < 0:
        raise ValueError(f"numerator must not be negative, not {numerator}")
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount_fen: int, percent: int) -> int:
    """`percent` % of `amount_fen`, half-up to the fen (10 % of ¥12.35 is 124 fen)."""
    return div_half_up(amount_fen * percent, 100)


def allocate(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Share `total_fen` across `weights` in proportion, in whole fen that add up to
    exactly `total_fen` (largest remainder; a tie goes to the earlier weight).

    With `total_fen` at most `sum(weights)` no share exceeds its weight, so a discount
    shared across lines by their amounts never takes a line below zero.
    """
    if total_fen < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts to share must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total_fen:
            raise ValueError(f"cannot share {total_fen} fen across nothing")
        return [0] * len(weights)
    shares = [total_fen * w // whole for w in weights]
    remainders = [total_fen * w % whole for w in weights]
    left = total_fen - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def yuan(fen: int) -> str:
    """An amount as staff read it: `yuan(1987)` is "¥19.87", `yuan(-4)` is "-¥0.04"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{cents:02d}"
