"""What scale parsers produce: readings, command replies and faults; plus unit handling.

Pure values. ``grams`` is an int (house rule) computed with Decimal so "1.234 kg" is
exactly 1234 g, never 1233.9999.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from devices.errors import ProtocolError

_GRAMS_PER_UNIT: dict[str, Decimal] = {"kg": Decimal(1000), "g": Decimal(1)}

WeightKind = Literal["gross", "net", "tare"]


def to_grams(number: str, unit: str) -> int:
    """Convert a decimal figure in kg or g to whole grams (half up).

    Pounds and ounces are refused with ProtocolError rather than converted: a shop in
    metric that receives lb has a misconfigured scale, and a silent conversion would
    put rounded figures on receipts.
    """
    factor = _GRAMS_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise ProtocolError(f"scale reports unit {unit!r}; set the scale to kg or g")
    try:
        value = Decimal(number.replace(" ", ""))
    except InvalidOperation as exc:
        raise ProtocolError(f"not a weight figure: {number!r}") from exc
    return int((value * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Reading:
    """One weight report. ``grams`` is None when the scale said only its state (moving…).

    ``kind``: "gross" - the scale says no tare is applied; "net" - the figure is what the
    display shows, with whatever tare is set; "tare" - the figure is the tare itself.
    """

    grams: int | None
    stable: bool
    overload: bool = False
    underload: bool = False
    kind: WeightKind = "gross"


@dataclass(frozen=True, slots=True)
class Reply:
    """The scale's answer to a command (tare, zero). ``tare_grams`` when it reports one."""

    command: str
    accepted: bool
    detail: str = ""
    tare_grams: int | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """A well-framed message that reports a problem: wrong unit, error reply, zero error.

    ``reason`` is written for the person who has to fix it.
    """

    reason: str
    raw: bytes


Parsed = Reading | Reply | Fault
