"""`shopfloor edge|cloud blocked` and `… release-origin`: the person's side of an
equivocation (docs/decisions.md, "Equivocation").

A replica that meets two histories of one origin blocks that origin and applies nothing
more of it. `blocked` lists what is blocked, with both versions as evidence;
`release-origin ORIGIN --by NAME --why TEXT` lifts the block once someone has decided
that the history this replica holds stands, and records who decided and why. The other
history's ops stay out: an origin that keeps offering them is blocked again at once,
which is the point (a node restored from a hand-copied ledger must be re-provisioned
from the hub, not released).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sync_protocol.store import ReplicaStore

OpenStore = Callable[[argparse.Namespace], AbstractContextManager[ReplicaStore]]
AddFlags = Callable[[argparse.ArgumentParser], None]


def register(
    cmds: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    add_store_flags: AddFlags,
    open_store: OpenStore,
) -> None:
    """Add `blocked` and `release-origin` to a command group whose store `open_store`
    opens from the flags `add_store_flags` adds."""
    listing = cmds.add_parser(
        "blocked", help="list the origins blocked for equivocation, with the evidence"
    )
    add_store_flags(listing)
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    listing.set_defaults(func=lambda args: _list(open_store, args))

    release = cmds.add_parser(
        "release-origin",
        help="lift an equivocation block once a person has decided (recorded)",
        description="Keep the history this replica holds for ORIGIN and apply its ops "
        "again. The other version stays out; if ORIGIN offers it again it is blocked "
        "again. Who decided and why are recorded as an incident.",
    )
    add_store_flags(release)
    release.add_argument("origin")
    release.add_argument("--by", required=True, help="who decided (name or staff id)")
    release.add_argument("--why", required=True, help="the decision, in a sentence")
    release.set_defaults(func=lambda args: _release(open_store, args))


def _list(open_store: OpenStore, args: argparse.Namespace) -> int:
    with open_store(args) as store:
        blocked = store.blocked_origins()
    for b in blocked:
        if args.json:
            print(json.dumps(b, ensure_ascii=False, sort_keys=True))
            continue
        since = datetime.fromtimestamp(int(b["at_ms"]) / 1000, UTC).isoformat(timespec="seconds")
        print(f"{b['origin']}  seq {b['seq']}  since {since}")
        print(f"  {b['reason']}")
        evidence = json.loads(b["evidence"]) if b.get("evidence") else {}
        for side in ("held", "offered"):
            if side in evidence:
                print(f"  {side}: {evidence[side]}")
    if not blocked and not args.json:
        print("no origin is blocked / 没有被封锁的来源")
    return 0


def _release(open_store: OpenStore, args: argparse.Namespace) -> int:
    with open_store(args) as store:
        released = store.release_origin(args.origin, by=args.by, why=args.why)
    if not released:
        print(f"{args.origin} is not blocked / {args.origin} 未被封锁")
        return 1
    print(f"{args.origin} released by {args.by} / {args.origin} 已由 {args.by} 解除封锁")
    return 0
