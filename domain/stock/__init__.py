"""Stock on hand: a ledger of `stock.moved` facts (receipts, sales, adjustments,
transfers, counts, returns) folded by sum per SKU × location."""

from pathlib import Path

from domain.area import DomainArea
from domain.stock import projection
from domain.stock.kinds import KINDS
from domain.stock.tables import stock_levels

AREA = DomainArea(
    name="stock",
    kinds=KINDS,
    tables=(stock_levels,),
    migrations=Path(__file__).with_name("migrations"),
    fold=projection.apply,
)
