"""ReplicaStore: the ops, the version vector, idempotent in-order apply, and the
projections of the registered areas folded in the same transaction as the ops.

The store is assembled from parts with one job each: `oplog` (reading ops, vectors,
checksums), `peers` (what each peer holds), `keys` (the keyring), `records` (incidents,
meta); this module writes and applies ops and rebuilds projections.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from sync_protocol.errors import ConfigurationError, NodeNotReady
from sync_protocol.hlc import HybridClock, system_ms
from sync_protocol.ops import Op, canonical_json
from sync_protocol.registry import EMPTY, Area, Registry
from sync_protocol.signing import NodeKey
from sync_protocol.store import schema
from sync_protocol.store.dialect import insert_for
from sync_protocol.store.keys import KeyBook
from sync_protocol.store.migrate import upgrade_to_head
from sync_protocol.store.oplog import OpLog, insert_ops, op_of
from sync_protocol.store.peers import PeerBook
from sync_protocol.store.records import Records

REBUILD_CHUNK = 5000


@dataclass
class ApplyResult:
    applied: list[Op] = field(default_factory=list)
    duplicates: int = 0
    buffered: int = 0


class WriteTxn:
    """One write transaction: append local ops and read state, all or nothing."""

    def __init__(self, store: ReplicaStore, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.appended: list[Op] = []
        self._head: int | None = None

    def append(self, kind: str, body: dict[str, Any], actor: str) -> Op:
        """Record a new fact of this replica: validated, signed, stored and folded, in
        this transaction."""
        if self.store.local_writes_held is not None:
            raise NodeNotReady(
                f"local writes are held: {self.store.local_writes_held}",
                message_zh="节点从备份恢复后正在与总部核对数据，请稍后再试",
            )
        key = self.store.key
        if key is None:
            raise ConfigurationError("this replica has no signing key; it cannot author ops")
        registry = self.store.registry
        v = registry.version_of(kind)
        registry.validate(kind, v, body)
        if self._head is None:
            self._head = self.store._lock_head(self.conn, self.store.origin)
        self._head += 1
        op = key.sign(
            Op(
                origin=self.store.origin,
                seq=self._head,
                hlc=self.store.clock.now(),
                kind=kind,
                v=v,
                actor=actor,
                body=body,
            )
        )
        insert_ops(self.conn, [op])
        registry.project(self.conn, [op])
        self.store._set_head(self.conn, self.store.origin, self._head)
        self.appended.append(op)
        return op


class ReplicaStore(OpLog, PeerBook, KeyBook, Records):
    def __init__(
        self,
        url: str,
        *,
        origin: str,
        key: NodeKey | None = None,
        clock: HybridClock | None = None,
        durable: bool = True,
        registry: Registry = EMPTY,
    ) -> None:
        super().__init__(url, durable=durable)
        self.origin = origin
        self.key = key
        self.clock = clock or HybridClock()
        self.registry = registry
        # Why this replica may not author ops right now (None: it may). Received ops
        # still apply: they are how a restored node catches up.
        self.local_writes_held: str | None = None
        migrated = upgrade_to_head(
            self.engine,
            areas=registry.migration_locations(),
            target_metadata=registry.metadata(),
        )
        # A revision of an area's projection may have emptied or reshaped its tables:
        # fold that area's ops again (projections are views of the ops).
        moved = [
            a for a in registry.areas if a.migrations is not None and a.migrations in migrated.moved
        ]
        if moved:
            self.rebuild_projections(moved)
        if key is not None:
            self.enroll(origin, key.public_b64, label="self")
        self._resume_clock()

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        with self._begin() as conn:
            yield WriteTxn(self, conn)

    def _resume_clock(self) -> None:
        # A restarted node must never stamp below what it already wrote or saw.
        with self.read() as conn:
            top = conn.execute(select(func.max(schema.ops.c.hlc))).scalar()
        if top:
            self.clock.observe(int(top))

    # --- apply -------------------------------------------------------------------------

    def apply(self, ops: Iterable[Op], *, now_ms: int | None = None) -> ApplyResult:
        """Store and fold received ops. Duplicates are no-ops; an op ahead of a gap is
        held until the gap fills; each origin's ops fold in seq order. Callers verify
        signatures first: the store trusts what it is given."""
        received = now_ms if now_ms is not None else system_ms()
        by_origin: dict[str, list[Op]] = {}
        for op in ops:
            by_origin.setdefault(op.origin, []).append(op)
        result = ApplyResult()
        with self.write() as txn:
            conn = txn.conn
            for origin in sorted(by_origin):
                group = sorted(by_origin[origin], key=lambda o: o.seq)
                head = self._lock_head(conn, origin)
                start = head
                ready: list[Op] = []
                held: dict[int, Op] = {}
                for op in group:
                    if op.seq <= head or op.seq in held:
                        result.duplicates += 1
                    elif op.seq == head + 1:
                        ready.append(op)
                        head += 1
                    else:
                        held[op.seq] = op
                # Earlier-buffered ops, and this batch's own out-of-order ones, that
                # the batch made contiguous.
                head = self._drain_pending(conn, origin, head, held, ready)
                for op in held.values():
                    if op.seq > head:
                        result.buffered += self._hold(conn, op, received)
                    else:
                        result.duplicates += 1
                if ready:
                    insert_ops(conn, ready, received)
                    self.registry.project(conn, ready)
                    result.applied.extend(ready)
                if head != start:
                    self._set_head(conn, origin, head)
                    conn.execute(
                        delete(schema.pending_ops).where(
                            and_(
                                schema.pending_ops.c.origin == origin,
                                schema.pending_ops.c.seq <= head,
                            )
                        )
                    )
        for op in result.applied:
            self.clock.observe(op.hlc)
        return result

    def _drain_pending(
        self, conn: Connection, origin: str, head: int, held: dict[int, Op], ready: list[Op]
    ) -> int:
        po = schema.pending_ops
        stored = {
            r.seq: r.wire
            for r in conn.execute(
                select(po.c.seq, po.c.wire).where(and_(po.c.origin == origin, po.c.seq > head))
            )
        }
        while True:
            nxt = head + 1
            if nxt in held:
                ready.append(held.pop(nxt))
            elif nxt in stored:
                ready.append(Op.from_wire(json.loads(stored[nxt])))
            else:
                return head
            head = nxt

    def _hold(self, conn: Connection, op: Op, received_ms: int) -> int:
        stmt = insert_for(self.dialect, schema.pending_ops).on_conflict_do_nothing(
            index_elements=["origin", "seq"]
        )
        res = conn.execute(
            stmt,
            {
                "origin": op.origin,
                "seq": op.seq,
                "wire": canonical_json(op.to_wire()).decode("utf-8"),
                "received_ms": received_ms,
            },
        )
        return 1 if res.rowcount else 0

    def _lock_head(self, conn: Connection, origin: str) -> int:
        conn.execute(
            insert_for(self.dialect, schema.heads).on_conflict_do_nothing(
                index_elements=["origin"]
            ),
            {"origin": origin, "seq": 0},
        )
        stmt = select(schema.heads.c.seq).where(schema.heads.c.origin == origin)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return int(conn.execute(stmt).scalar_one())

    def _set_head(self, conn: Connection, origin: str, seq: int) -> None:
        conn.execute(update(schema.heads).where(schema.heads.c.origin == origin).values(seq=seq))

    # --- projections -------------------------------------------------------------------

    def rebuild_projections(self, areas: Iterable[Area] | None = None) -> None:
        """Throw the projections of `areas` (default: every area) away and fold their
        ops again, in one transaction: facts, then views."""
        chosen = list(self.registry.areas if areas is None else areas)
        if not chosen:
            return
        kinds = sorted({k.name for area in chosen for k in area.kinds})
        only = Registry(chosen)
        with self._begin() as conn:
            for area in chosen:
                for table in reversed(area.tables):
                    conn.execute(table.delete())
            last: tuple[str, int] = ("", 0)
            while True:
                rows = conn.execute(
                    select(schema.ops)
                    .where(schema.ops.c.kind.in_(kinds))
                    .where(
                        (schema.ops.c.origin > last[0])
                        | and_(schema.ops.c.origin == last[0], schema.ops.c.seq > last[1])
                    )
                    .order_by(schema.ops.c.origin, schema.ops.c.seq)
                    .limit(REBUILD_CHUNK)
                ).all()
                if not rows:
                    return
                only.project(conn, [op_of(r) for r in rows])
                last = (rows[-1].origin, int(rows[-1].seq))
