"""Compaction: a replica forgets ops its archive already holds, keeping their effects.

A node keeps ops only until the archive (the hub) has acknowledged them and the node's
retention allows; the projections (the ops' effects) and the heads (seq, chain link,
stamp of each origin) stay, so chain links, equivocation checks and new writes carry on.

What was forgotten is recorded per origin: the *floor*, the highest seq no longer held
and the chain link at it (meta key `compacted`). Ops at or below the floor are gone, so
a page asked to start below it would have a hole: `OpLog.ops_after` and `ops_range`
refuse that explicitly (an incident), they never serve ops past a hole as if contiguous.
A snapshot installed from the archive sets the floor too (`sync_protocol.snapshot`).

An archive replica (`mark_archive`, the hub) keeps every op: compaction refuses it.

Ops are deleted in batches of `Retention.batch`, each its own short write transaction,
so a till keeps selling while a large backlog is compacted. SQLite reuses the freed
pages for new ops (the file stops growing); nothing here runs VACUUM, which would
rewrite the whole file under an exclusive lock.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, delete, func, select

from sync_protocol.errors import ConfigurationError
from sync_protocol.hlc import system_ms
from sync_protocol.store import schema
from sync_protocol.store.dialect import insert_for
from sync_protocol.version_vector import VersionVector

if TYPE_CHECKING:
    from sync_protocol.store.replica import ReplicaStore

log = logging.getLogger(__name__)

FLOORS_KEY = "compacted"
ARCHIVE_KEY = "archive"
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Floor:
    """Ops of an origin at or below `through` are no longer held; `link` is the chain
    link at `through` (what a page starting at `through + 1` says comes before it)."""

    through: int
    link: str


@dataclass(frozen=True)
class Retention:
    """How long acknowledged ops stay. An op is deleted once the archive holds it and
    it is older than `keep_days`, or, past `max_ops` ops held in all, the oldest
    acknowledged ops go even when younger (the disk matters more than the history)."""

    keep_days: float = 14.0
    max_ops: int = 250_000
    batch: int = 2000
    # Pause between batches: lets a waiting sale take the write lock.
    pause_s: float = 0.005


@dataclass
class CompactionReport:
    deleted: dict[str, int] = field(default_factory=dict)  # origin -> ops deleted now
    floors: dict[str, int] = field(default_factory=dict)  # origin -> floor after

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def read_floors(conn: Connection) -> dict[str, Floor]:
    raw = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == FLOORS_KEY)).scalar()
    if not raw:
        return {}
    return {o: Floor(int(f["through"]), str(f["link"])) for o, f in json.loads(raw).items()}


def write_floors(conn: Connection, dialect: str, floors: Mapping[str, Floor]) -> None:
    value = json.dumps(
        {o: {"through": f.through, "link": f.link} for o, f in sorted(floors.items())}
    )
    stmt = insert_for(dialect, schema.meta).on_conflict_do_update(
        index_elements=["key"], set_={"value": value}
    )
    conn.execute(stmt, {"key": FLOORS_KEY, "value": value})


def floors(store: ReplicaStore) -> dict[str, int]:
    """Per origin, the highest seq this replica no longer holds (0: holds them all)."""
    with store.read() as conn:
        return {o: f.through for o, f in read_floors(conn).items()}


def mark_archive(store: ReplicaStore) -> None:
    """This replica is the archive (the hub): it keeps every op, never compacts."""
    if store.get_meta(ARCHIVE_KEY) != "1":
        store.set_meta(ARCHIVE_KEY, "1")


def is_archive(store: ReplicaStore) -> bool:
    return store.get_meta(ARCHIVE_KEY) == "1"


def _heads(conn: Connection) -> dict[str, int]:
    h = schema.heads
    return {r.origin: int(r.seq) for r in conn.execute(select(h.c.origin, h.c.seq))}


def _acked(conn: Connection, peer: str) -> VersionVector:
    p = schema.peers
    raw = conn.execute(select(p.c.vv).where(p.c.peer == peer)).scalar()
    return {str(o): int(s) for o, s in json.loads(raw).items()} if raw else {}


def plan(
    store: ReplicaStore, archive: str, retention: Retention, *, now_ms: int | None = None
) -> dict[str, int]:
    """Per origin, the floor compaction would move to now (only origins that move).
    Cheap when there is nothing to do: a few small reads, and one indexed lookup per
    origin whose oldest held op is still young."""
    cutoff = (now_ms if now_ms is not None else system_ms()) - int(retention.keep_days * DAY_MS)
    o = schema.ops
    with store.read() as conn:
        heads = _heads(conn)
        acked = _acked(conn, archive)
        held = read_floors(conn)
        limits: dict[str, int] = {}
        by_age: dict[str, int] = {}
        for origin, head in heads.items():
            through = held[origin].through if origin in held else 0
            limit = min(head, acked.get(origin, 0))
            if limit <= through:
                continue
            limits[origin] = limit
            first_young = conn.execute(
                select(func.min(o.c.seq)).where(
                    and_(
                        o.c.origin == origin,
                        o.c.seq > through,
                        o.c.seq <= limit,
                        o.c.received_ms >= cutoff,
                    )
                )
            ).scalar()
            by_age[origin] = limit if first_young is None else int(first_young) - 1
    floors_now = {origin: held[origin].through if origin in held else 0 for origin in heads}
    target = {origin: max(floors_now[origin], by_age.get(origin, 0)) for origin in heads}
    # Over the cap: the oldest acknowledged ops of the origins holding most go too.
    excess = sum(heads[x] - target[x] for x in heads) - retention.max_ops
    for origin in sorted(limits, key=lambda x: heads[x] - target[x], reverse=True):
        if excess <= 0:
            break
        more = min(excess, limits[origin] - target[origin])
        if more > 0:
            target[origin] += more
            excess -= more
    return {x: t for x, t in target.items() if t > floors_now[x]}


def compact(
    store: ReplicaStore,
    archive: str,
    retention: Retention | None = None,
    *,
    now_ms: int | None = None,
) -> CompactionReport:
    """Delete the ops `archive` has acknowledged (its vector in `peers`, as the sync
    session saved it) that `retention` lets go. Never an op the archive has not
    acknowledged; the projections and heads stay. Each batch re-reads what the archive
    acknowledged, in its own transaction: a hub that says it holds less since (restored
    from a backup) stops the compaction there."""
    retention = retention or Retention()
    if is_archive(store):
        raise ConfigurationError(
            f"{store.origin!r} is the archive: it keeps every op and never compacts",
            message_zh="总部是全部操作记录的存档，不能压缩",
        )
    report = CompactionReport()
    targets = plan(store, archive, retention, now_ms=now_ms)
    o = schema.ops
    for origin, target in sorted(targets.items()):
        while True:
            with store._begin() as conn:
                held = read_floors(conn)
                through = held[origin].through if origin in held else 0
                acked = _acked(conn, archive).get(origin, 0)
                safe = min(target, _heads(conn).get(origin, 0), acked)
                upto = min(safe, through + retention.batch)
                if upto <= through:
                    break
                link = conn.execute(
                    select(o.c.chain).where(and_(o.c.origin == origin, o.c.seq == upto))
                ).scalar()
                if link is None:
                    # Not held (a snapshot or an earlier compaction already passed it
                    # in another process): nothing of this origin to do here.
                    break
                gone = conn.execute(
                    delete(o).where(and_(o.c.origin == origin, o.c.seq > through, o.c.seq <= upto))
                ).rowcount
                held[origin] = Floor(upto, str(link))
                write_floors(conn, store.dialect, held)
            report.deleted[origin] = report.deleted.get(origin, 0) + int(gone or 0)
            report.floors[origin] = upto
            if upto >= target:
                break
            time.sleep(retention.pause_s)
    if report.total:
        log.info("compacted %d ops held by %s: floors %s", report.total, archive, report.floors)
    return report


# --- projections a compacted ledger cannot rebuild ---------------------------------------

NEEDS_SNAPSHOT_KEY = "needs_snapshot"
REBUILD_HOLD = "projections need the hub's snapshot (a compacted ledger cannot rebuild them)"


def refuse_rebuild(store: ReplicaStore, areas: Iterable[str]) -> bool:
    """True (and the ledger marked as needing a snapshot, its writes held) when `store`
    is compacted: folding the ops it still holds would give projections that look right
    and are not. Only a snapshot from the archive, which holds every op, can rebuild
    them (edge/bootstrap.py does, once the node holds nothing the hub lacks)."""
    with store.read() as conn:
        if not read_floors(conn):
            return False
    names = ", ".join(sorted(areas))
    store.set_meta(NEEDS_SNAPSHOT_KEY, names)
    store.local_writes_held = REBUILD_HOLD
    log.error(
        "the projections of %s need rebuilding but this ledger is compacted: %s",
        names,
        REBUILD_HOLD,
    )
    store.record_incident(
        disposition="flagged",
        kind="rebuild_needs_snapshot",
        reason=f"the projections of {names} must be rebuilt and this ledger no longer holds "
        "every op: local writes are held until the hub's snapshot is installed",
    )
    return True


def hold_if_needs_snapshot(store: ReplicaStore) -> None:
    """At open: a ledger still waiting for the snapshot that rebuilds it holds writes."""
    if store.get_meta(NEEDS_SNAPSHOT_KEY) is not None and store.local_writes_held is None:
        store.local_writes_held = REBUILD_HOLD
