"""Member op kinds. A member is keyed by their phone number in E.164 (`+8613800138000`),
the key that joins a customer across stores and channels (DESIGN §8); two stores that
enrol the same phone while cut off from each other enrol the same member.

- `member.enrolled`, `member.profile_set`: last-writer-wins fields (`name`, `tier`);
  `tier` counts only when the hub wrote it (`rules.HUB_ONLY_FIELDS`).
- `member.points_earned`, `member.points_redeemed`, `member.points_reversed`: facts
  owned by the node that wrote them, one per sale (or per return) of that node. Earned
  points join that node's allowance; redeemed points leave it; a reversal gives redeemed
  points back to it and takes earned points out of it.
- `member.allowance_moved`: the node that writes it (the holder) gives `points` of its
  allowance for one member to `to`. Only a holder moves its own allowance, so no point
  is ever in two allowances (a bounded counter: docs/points.md).
- `member.allowance_asked`: someone asks the holder `of` to give it allowance; the
  answer is a move that names the ask. It decides nothing by itself.
- `member.rules_set`: the points programme (`config.PointsRules`), from the hub only.

The names start `member.`, not `points.`: a kind of that name is the contract suite's
example of a kind no area owns (tests/domain/test_contract.py)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.members.config import MAX_POINTS, TIER_NAME_MAX, rules_from_replicated
from sync_protocol.registry import Body, Kind

MAX_FEN: Final = 10_000_000_000  # ¥100,000,000.00: a sale beyond that is a typo
MAX_FIELDS: Final = 16
NAME_MAX: Final = 64

Phone = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")]
"""E.164, as `rules.normalise_phone` makes it."""
Holder = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
"""An origin id (a node, or the hub) that can hold allowance."""
Ref = Annotated[str, Field(min_length=1, max_length=64)]
Location = Annotated[str, Field(min_length=1, max_length=64)]
Points = Annotated[int, Field(ge=1, le=MAX_POINTS)]
SomePoints = Annotated[int, Field(ge=0, le=MAX_POINTS)]
FieldValue = Annotated[str, Field(max_length=200)] | int | bool | None


class MemberFields(BaseModel):
    """What staff may set on a member (strict, unknown fields refused). A field left out
    (or None) is not changed. `tier` is HQ's to set: a node's write of it counts for
    nothing."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    tier: StrictStr | None = Field(default=None, min_length=1, max_length=TIER_NAME_MAX)

    def changes(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class MemberBody(Body):
    """Strict types (`"12"` is not a number, `true` is not a count), bounded sizes; like
    every replicated body it keeps fields it does not know."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class MemberEnrolled(MemberBody):
    """`phone` became a member at `location` (its first fields, if any)."""

    phone: Phone
    location: Location
    fields: dict[str, FieldValue] = Field(default_factory=dict, max_length=MAX_FIELDS)


class MemberProfileSet(MemberBody):
    """Register writes on one member: each field last-writer-wins by (hlc, origin)."""

    phone: Phone
    fields: dict[str, FieldValue] = Field(min_length=1, max_length=MAX_FIELDS)


class PointsEarned(MemberBody):
    """The writer's sale `sale_id` earned `points` (at `tier`'s rate on `amount_fen`):
    they join the writer's allowance."""

    phone: Phone
    sale_id: Ref
    location: Location
    points: Points
    amount_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    tier: str | None = Field(default=None, max_length=TIER_NAME_MAX)


class PointsRedeemed(MemberBody):
    """`points` paid `value_fen` of the writer's sale `sale_id` (a tender), out of the
    writer's allowance."""

    phone: Phone
    sale_id: Ref
    location: Location
    points: Points
    value_fen: int = Field(default=0, ge=0, le=MAX_FEN)


class PointsReversed(MemberBody):
    """A return (`return_id`) of the writer's sale `sale_id`: `redeemed` points go back
    to the writer's allowance, `earned` points come out of it, and `shortfall` earned
    points could not (already spent): the counter settled them with the refund."""

    phone: Phone
    sale_id: Ref
    return_id: Ref
    location: Location
    earned: SomePoints = 0
    redeemed: SomePoints = 0
    shortfall: SomePoints = 0

    @model_validator(mode="after")
    def _something(self) -> PointsReversed:
        if not (self.earned or self.redeemed or self.shortfall):
            raise ValueError("a reversal reverses some points")
        return self


class OpRef(MemberBody):
    """An op by its id: (origin, seq)."""

    origin: Holder
    seq: int = Field(ge=1)


class AllowanceMoved(MemberBody):
    """The writer gives `points` of its allowance for `phone` to `to`. An answer to an
    ask names it (`answers`) and may give 0 points: "none here"."""

    phone: Phone
    to: Holder
    points: SomePoints
    answers: OpRef | None = None

    @model_validator(mode="after")
    def _some_unless_an_answer(self) -> AllowanceMoved:
        if self.points == 0 and self.answers is None:
            raise ValueError("a move gives at least 1 point (0 only in answer to an ask)")
        return self


class AllowanceAsked(MemberBody):
    """The writer asks `of` to give it up to `points` of `of`'s allowance for `phone`."""

    phone: Phone
    of: Holder
    points: Points


class PointsRulesSet(MemberBody):
    """The points programme (`config.PointsRules`) as HQ set it; only the hub's count.
    A newer hub's extra fields are kept here and left out where this release applies
    the rules."""

    rules: dict[str, Any]

    @field_validator("rules")
    @classmethod
    def _applicable(cls, rules: dict[str, Any]) -> dict[str, Any]:
        try:
            rules_from_replicated(rules)
        except ValidationError as exc:
            raise ValueError(f"rules this release cannot apply: {exc.errors()[0]['msg']}") from exc
        return rules


ENROLLED = Kind("member.enrolled", 1, MemberEnrolled)
PROFILE_SET = Kind("member.profile_set", 1, MemberProfileSet)
POINTS_EARNED = Kind("member.points_earned", 1, PointsEarned)
POINTS_REDEEMED = Kind("member.points_redeemed", 1, PointsRedeemed)
POINTS_REVERSED = Kind("member.points_reversed", 1, PointsReversed)
ALLOWANCE_MOVED = Kind("member.allowance_moved", 1, AllowanceMoved)
ALLOWANCE_ASKED = Kind("member.allowance_asked", 1, AllowanceAsked)
RULES_SET = Kind("member.rules_set", 1, PointsRulesSet)
KINDS = (
    ENROLLED,
    PROFILE_SET,
    POINTS_EARNED,
    POINTS_REDEEMED,
    POINTS_REVERSED,
    ALLOWANCE_MOVED,
    ALLOWANCE_ASKED,
    RULES_SET,
)
