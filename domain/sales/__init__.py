"""Sales at the counter: each completed sale is an owned aggregate of the node that
rang it up (`sale.completed`), with the stock it took recorded as `stock.moved`."""

from pathlib import Path

from domain.area import DomainArea
from domain.sales import projection
from domain.sales.kinds import KINDS
from domain.sales.tables import sales

AREA = DomainArea(
    name="sales",
    kinds=KINDS,
    tables=(sales,),
    migrations=Path(__file__).with_name("migrations"),
    fold=projection.apply,
)
