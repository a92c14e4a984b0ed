"""The points programme as HQ configures it: tiers (by points earned over a rolling 12
months or over the membership's lifetime), what each tier earns per yuan, and what a
point is worth as a tender. One strict model (`PointsRules`), set at the hub and pushed
to every node as a `member.rules_set` op, so a counter applies it offline.

Rates are integers: a tier earns `points_per_100_yuan` points per ¥100 (100 = 1 point
per yuan, 150 = 1.5), and a point pays `fen_per_point` fen (1: 100 points = ¥1)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

MAX_POINTS: Final = 1_000_000_000  # far beyond any member's balance, well inside BIGINT
MAX_TIERS: Final = 10
TIER_NAME_MAX: Final = 16

Basis = Literal["rolling_12_months", "lifetime"]


class TierRule(BaseModel):
    """One tier: reached from `min_points` earned (over the basis), earning at its rate."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: StrictStr = Field(min_length=1, max_length=TIER_NAME_MAX)
    min_points: StrictInt = Field(ge=0, le=MAX_POINTS)
    points_per_100_yuan: StrictInt = Field(ge=0, le=10_000)


class PointsRules(BaseModel):
    """What HQ sets. Strict, unknown fields refused; tiers from the lowest (whose
    `min_points` is 0) up, thresholds strictly rising, names unique."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tiers: list[TierRule] = Field(min_length=1, max_length=MAX_TIERS)
    basis: Basis = "rolling_12_months"
    fen_per_point: StrictInt = Field(default=1, ge=1, le=10_000)
    # The share of a sale's total that points may pay, in percent.
    max_share_percent: StrictInt = Field(default=100, ge=1, le=100)

    @model_validator(mode="after")
    def _tiers_rise(self) -> PointsRules:
        if self.tiers[0].min_points != 0:
            raise ValueError("the first tier starts at 0 points")
        thresholds = [t.min_points for t in self.tiers]
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ValueError("tier thresholds must rise strictly")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier names must be unique")
        return self

    def tier_named(self, name: str | None) -> TierRule | None:
        return next((t for t in self.tiers if t.name == name), None)


DEFAULT_RULES: Final = PointsRules(
    tiers=[
        TierRule(name="普通会员", min_points=0, points_per_100_yuan=100),
        TierRule(name="银卡", min_points=2_000, points_per_100_yuan=120),
        TierRule(name="金卡", min_points=10_000, points_per_100_yuan=150),
    ]
)
"""Until HQ sets its own: 1 point per yuan, silver from 2,000 points earned in 12 months
(1.2 per yuan), gold from 10,000 (1.5 per yuan); 100 points pay ¥1."""


def rules_from_replicated(data: Mapping[str, Any]) -> PointsRules:
    """Read rules as a hub wrote them: fields this release does not know (a newer hub's)
    are left out, the rest checked as strictly as HQ's form is. Raises ValueError
    (pydantic's ValidationError) on rules this release cannot apply."""
    known = {k: v for k, v in data.items() if k in PointsRules.model_fields}
    tiers = known.get("tiers")
    if isinstance(tiers, list):
        known["tiers"] = [
            {k: v for k, v in t.items() if k in TierRule.model_fields} if isinstance(t, dict) else t
            for t in tiers
        ]
    return PointsRules.model_validate(known)
