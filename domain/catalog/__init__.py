"""The catalog, owned by HQ: item fields (name, price, unit, barcode, category) are
last-writer-wins registers, written at the hub and relayed to every node."""

from pathlib import Path

from domain.area import DomainArea
from domain.catalog import projection
from domain.catalog.kinds import KINDS
from domain.catalog.tables import catalog_fields

AREA = DomainArea(
    name="catalog",
    kinds=KINDS,
    tables=(catalog_fields,),
    migrations=Path(__file__).with_name("migrations"),
    fold=projection.apply,
)
