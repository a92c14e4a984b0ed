"""Staff of the stores and warehouses: accounts written at the hub and replicated to
every node (the PIN's Argon2id hash, never the PIN), and the PIN checks and unlocks
each node records, from which every replica derives back-off and lock-out alike."""

from pathlib import Path

from domain.area import DomainArea
from domain.staff import projection
from domain.staff.kinds import KINDS
from domain.staff.tables import staff_fields, staff_pin_failures, staff_resets

AREA = DomainArea(
    name="staff",
    kinds=KINDS,
    tables=(staff_fields, staff_pin_failures, staff_resets),
    migrations=Path(__file__).with_name("migrations"),
    fold=projection.apply,
)
