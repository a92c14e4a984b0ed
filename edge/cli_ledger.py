"""`shopfloor edge compact` and `shopfloor edge start-over`: the ledger's upkeep by hand.

    shopfloor edge compact    --data-dir D [--retain-days N] [--retain-max-ops M] [--dry-run]
    shopfloor edge start-over --data-dir D [--hub-url URL] [--from-file PATH]

Both may run beside the running node (another process on the same SQLite file: short
transactions, the node keeps selling). Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from edge.settings import EdgeSettings
from sync_protocol.settings import add_flags, given_flags

if TYPE_CHECKING:
    from sync_protocol.store import ReplicaStore


def register(cmds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `compact` and `start-over` to the `shopfloor edge` subcommands."""
    compact = cmds.add_parser(
        "compact",
        help="delete ops the hub has acknowledged, within the retention (projections stay)",
        description="Delete from the ledger the ops the hub has acknowledged that are older "
        "than --retain-days (or past --retain-max-ops); never an op the hub lacks. The "
        "running node does the same every --compact-every-min minutes (docs/compaction.md).",
    )
    add_flags(
        compact,
        EdgeSettings,
        only={"data_dir", "retain_days", "retain_max_ops"},
        required={"data_dir"},
    )
    compact.add_argument(
        "--dry-run", action="store_true", help="say what would be deleted, delete nothing"
    )
    compact.set_defaults(func=_compact)

    over = cmds.add_parser(
        "start-over",
        help="start the ledger from the hub's signed snapshot (a new or very stale node)",
        description="Fetch the hub's snapshot for this node (or read --from-file), verify "
        "it against the hub key, and install it, only if the node holds nothing the hub "
        "lacks. The running node does this by itself when it is new or "
        "--snapshot-behind-ops behind.",
    )
    add_flags(over, EdgeSettings, only={"data_dir", "hub_url"}, required={"data_dir"})
    over.add_argument("--from-file", type=Path, help="a snapshot file fetched by other means")
    over.set_defaults(func=_start_over)


def _compact(args: argparse.Namespace) -> int:
    from edge.upkeep import retention_of
    from sync_protocol.origins import HUB
    from sync_protocol.store.compaction import compact, floors, plan

    settings = EdgeSettings.load(**given_flags(args, EdgeSettings))
    with _ledger(settings) as ledger:
        if args.dry_run:
            moves = plan(ledger, HUB, retention_of(settings))
            before = floors(ledger)
            for origin, floor in sorted(moves.items()):
                print(f"{origin}: would delete ops {before.get(origin, 0) + 1}..{floor}")
            if not moves:
                print("nothing to compact")
            return 0
        report = compact(ledger, HUB, retention_of(settings))
        for origin, n in sorted(report.deleted.items()):
            print(f"{origin}: deleted {n} ops, none held up to seq {report.floors[origin]}")
        if not report.total:
            print("nothing to compact")
    return 0


def _start_over(args: argparse.Namespace) -> int:
    from edge.bootstrap import start_over

    settings = EdgeSettings.load(**given_flags(args, EdgeSettings))
    data = args.from_file.read_bytes() if args.from_file is not None else None
    with _ledger(settings) as ledger:
        done = start_over(ledger, settings, data=data)
    heads = ", ".join(f"{o} {s}" for o, s in sorted(done.heads.items()))
    print(f"installed snapshot {done.digest[:12]}: heads {heads}; {done.rows} rows")
    return 0


@contextmanager
def _ledger(settings: EdgeSettings) -> Iterator[ReplicaStore]:
    """The node's ledger alone (no sync, no web), closed afterwards."""
    from edge.node import Node

    node = Node.open(settings, with_sync=False)
    try:
        yield node.ledger
    finally:
        node.close()
