"""The business areas, in the order the op store folds them. A new area adds its
subpackage and one line here; nothing in `sync_protocol` changes."""

from __future__ import annotations

from domain import access, catalog, members, sales, staff, stock
from sync_protocol.registry import Registry

REGISTRY = Registry([catalog.AREA, stock.AREA, sales.AREA, staff.AREA, members.AREA, access.AREA])
