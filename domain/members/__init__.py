"""Members at the counter: looked up or enrolled by phone (E.164, the key), their
profile as last-writer-wins fields (the tier from the hub), and their points: earned
and redeemed facts owned by the node that wrote them, spent only from that node's
allowance, allowances moved between holders by op (a bounded counter: docs/points.md),
and the points rules the hub pushes to every counter."""

from pathlib import Path

from domain.area import DomainArea
from domain.members import projection
from domain.members.kinds import KINDS
from domain.members.tables import (
    member_allowance_asks,
    member_allowance_moves,
    member_enrolments,
    member_fields,
    member_points,
    member_rules,
)

AREA = DomainArea(
    name="members",
    kinds=KINDS,
    tables=(
        member_fields,
        member_enrolments,
        member_points,
        member_allowance_moves,
        member_allowance_asks,
        member_rules,
    ),
    migrations=Path(__file__).with_name("migrations"),
    fold=projection.apply,
)
