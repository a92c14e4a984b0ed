"""The base and field types of what HQ or a store's settings author for the counter
(promotions, discount limits, barcode layouts) and what a till sends (tenders, a
cashier's discount): strict, bounded, frozen models that can travel as op bodies.

Strict as `domain.catalog.kinds.ItemFields` is: `true` is not a number and `"12"` is
not a price; an unknown field is refused. Two exceptions, because an op body arrives as
decoded JSON: a list is accepted where a tuple is meant (its items stay strict), and a
date or time may be an ISO string ("2026-02-14", "22:00"), never a number.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Final, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from domain.catalog.kinds import MAX_PRICE_FEN

T = TypeVar("T")

MAX_LIST: Final = 5_000  # SKUs in one promotion, entries in one list: more is a mistake


class Authored(BaseModel):
    """Strict, frozen, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _iso_or_value(kind: type) -> Any:
    def check(value: object) -> object:
        if isinstance(value, str | kind):
            return value
        raise ValueError(f"expected an ISO {kind.__name__} string")

    return BeforeValidator(check)


def _naive(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local time has no time zone")
    return value


#: A tuple that also takes a JSON list; its items keep their own strictness.
Listed = Annotated[tuple[T, ...], Field(strict=False, max_length=MAX_LIST)]
#: An amount in fen, 0 to ¥1,000,000.00.
Fen = Annotated[int, Field(ge=0, le=MAX_PRICE_FEN)]
#: An amount in fen above zero.
PositiveFen = Annotated[int, Field(gt=0, le=MAX_PRICE_FEN)]
#: A calendar date of the store, "2026-02-14" or a `date`.
LocalDate = Annotated[date, _iso_or_value(date), Field(strict=False)]
#: A wall-clock time of the store without zone, "22:00" or a `time`.
LocalTime = Annotated[time, _iso_or_value(time), Field(strict=False), AfterValidator(_naive)]
#: An id HQ gives a promotion, a layout…: letters, digits and . _ -
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
#: A name shown to staff and on the receipt, e.g. "猪肉会员价".
Label = Annotated[str, Field(min_length=1, max_length=64)]
