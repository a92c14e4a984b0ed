"""Cash rounding to the jiao (0.1 CNY, 10 fen), for a store set to it.

Few customers carry fen coins, so a store may round what is paid **in cash** to the
nearest jiao: half-up, the common practice (四舍五入 from 分 to 角), so 0.05 rounds up and
0.04 down: ¥23.45 is ¥23.50 and ¥23.44 is ¥23.40. The difference is within −4 … +5 fen.

Only the cash part of a payment is rounded. WeChat, Alipay and cards pay to the fen, so
in a split payment the rest left for cash is rounded, not the total, and a sale paid
wholly without cash is not rounded at all.

The rounding is its own line of the sale (`ROUNDING_LINE_ZH`, with `rounding_fen` as its
amount, negative when the customer pays less), so the lines still add up to what was
paid and finance can report the rounding given and taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from domain.pricing.money import div_half_up

ROUNDING_UNIT_FEN: Final = 10
ROUNDING_LINE_ZH: Final = "现金舍入"
ROUNDING_LINE_EN: Final = "cash rounding"


@dataclass(frozen=True)
class CashDue:
    """What cash must pay: `exact_fen` as priced, `due_fen` after rounding."""

    exact_fen: int
    due_fen: int

    @property
    def rounding_fen(self) -> int:
        return self.due_fen - self.exact_fen


def round_cash(fen: int) -> int:
    """`fen` to the nearest 10 fen, half-up (5 rounds up)."""
    return div_half_up(fen, ROUNDING_UNIT_FEN) * ROUNDING_UNIT_FEN


def cash_due(exact_fen: int, *, enabled: bool) -> CashDue:
    """What cash pays of `exact_fen`: rounded to the jiao when the store is set to it."""
    return CashDue(exact_fen, round_cash(exact_fen) if enabled else exact_fen)
