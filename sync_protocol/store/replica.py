"""ReplicaStore: the ops, the version vector and idempotent, in-order apply.

Writes go through one lock per process plus the database's own locking (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock on the origin's head), so several hub workers
can apply the same op concurrently and it is still stored once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, update

from sync_protocol.errors import ConfigurationError, NodeNotReady
from sync_protocol.hlc import HybridClock, system_ms
from sync_protocol.kinds import KINDS, validate_body
from sync_protocol.ops import Op, canonical_json
from sync_protocol.signing import KeyRing, NodeKey
from sync_protocol.store import projections, schema
from sync_protocol.store.dialect import insert_for, make_engines
from sync_protocol.store.migrate import upgrade_to_head
from sync_protocol.version_vector import VersionVector

REBUILD_CHUNK = 5000


@dataclass
class ApplyResult:
    applied: list[Op] = field(default_factory=list)
    duplicates: int = 0
    buffered: int = 0


@dataclass(frozen=True)
class PeerState:
    peer: str
    vv: VersionVector
    last_seen_ms: int | None
    last_ack_ms: int | None
    connected: bool


class WriteTxn:
    """One write transaction: append local ops and read state, all or nothing."""

    def __init__(self, store: ReplicaStore, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.appended: list[Op] = []
        self._head: int | None = None

    def append(self, kind: str, body: dict[str, Any], actor: str) -> Op:
        """Record a new fact of this replica: signed, stored, folded, in this txn."""
        if self.store.local_writes_held is not None:
            raise NodeNotReady(
                f"local writes are held: {self.store.local_writes_held}",
                message_zh="节点从备份恢复后正在与总部核对数据，请稍后再试",
            )
        key = self.store.key
        if key is None:
            raise ConfigurationError("this replica has no signing key; it cannot author ops")
        v = KINDS[kind][0] if kind in KINDS else 1
        validate_body(kind, v, body)
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
        self.store._insert_ops(self.conn, [op])
        projections.project(self.conn, [op])
        self.store._set_head(self.conn, self.store.origin, self._head)
        self.appended.append(op)
        return op


class ReplicaStore:
    def __init__(
        self,
        url: str,
        *,
        origin: str,
        key: NodeKey | None = None,
        clock: HybridClock | None = None,
        durable: bool = True,
    ) -> None:
        self.origin = origin
        self.key = key
        self.clock = clock or HybridClock()
        self.engine, self.read_engine = make_engines(url, durable=durable)
        self.dialect = self.engine.dialect.name
        self._lock = threading.RLock()
        # Why this replica may not author ops right now (None: it may). Received ops
        # still apply: they are how a restored node catches up.
        self.local_writes_held: str | None = None
        upgrade_to_head(self.engine)
        if key is not None:
            self.enroll(origin, key.public_b64, label="self")
        self._resume_clock()

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    # --- transactions ------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        with self._lock, self.engine.begin() as conn:
            yield WriteTxn(self, conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

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
                    self._insert_ops(conn, ready, received)
                    projections.project(conn, ready)
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

    def _insert_ops(
        self, conn: Connection, ops: Sequence[Op], received_ms: int | None = None
    ) -> None:
        at = received_ms if received_ms is not None else system_ms()
        conn.execute(
            schema.ops.insert(),
            [
                {
                    "origin": op.origin,
                    "seq": op.seq,
                    "hlc": op.hlc,
                    "kind": op.kind,
                    "v": op.v,
                    "actor": op.actor,
                    "body": canonical_json(op.body).decode("utf-8"),
                    "sig": _b64(op.sig),
                    "received_ms": at,
                }
                for op in ops
            ],
        )

    # --- reading ops -------------------------------------------------------------------

    def version_vector(self) -> VersionVector:
        with self.read() as conn:
            return {
                r.origin: int(r.seq)
                for r in conn.execute(select(schema.heads.c.origin, schema.heads.c.seq))
                if r.seq > 0
            }

    def head(self, origin: str) -> int:
        with self.read() as conn:
            seq = conn.execute(
                select(schema.heads.c.seq).where(schema.heads.c.origin == origin)
            ).scalar()
        return int(seq or 0)

    def ops_after(
        self,
        vv: Mapping[str, int],
        *,
        origins: Iterable[str] | None = None,
        limit: int = 2000,
        max_bytes: int = 1_000_000,
    ) -> list[Op]:
        """Ops this replica holds (contiguously) beyond `vv`, oldest first per origin,
        at most `limit` ops and about `max_bytes` of wire size."""
        mine = self.version_vector()
        wanted = set(origins) if origins is not None else None
        out: list[Op] = []
        size = 0
        with self.read() as conn:
            for origin in sorted(mine):
                if wanted is not None and origin not in wanted:
                    continue
                lo = vv.get(origin, 0)
                if mine[origin] <= lo:
                    continue
                rows = conn.execute(
                    select(schema.ops)
                    .where(
                        and_(
                            schema.ops.c.origin == origin,
                            schema.ops.c.seq > lo,
                            schema.ops.c.seq <= mine[origin],
                        )
                    )
                    .order_by(schema.ops.c.seq)
                    .limit(limit - len(out))
                )
                for row in rows:
                    out.append(_op_of(row))
                    size += len(row.body) + 200
                    if size >= max_bytes:
                        return out
                if len(out) >= limit:
                    return out
        return out

    def ops_range(self, origin: str, lo: int, hi: int) -> list[Op]:
        with self.read() as conn:
            rows = conn.execute(
                select(schema.ops)
                .where(
                    and_(
                        schema.ops.c.origin == origin,
                        schema.ops.c.seq >= lo,
                        schema.ops.c.seq <= hi,
                    )
                )
                .order_by(schema.ops.c.seq)
            )
            return [_op_of(r) for r in rows]

    def all_ops(self) -> list[Op]:
        with self.read() as conn:
            rows = conn.execute(select(schema.ops).order_by(schema.ops.c.origin, schema.ops.c.seq))
            return [_op_of(r) for r in rows]

    def count_ops(self) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.ops)).scalar_one())

    def gaps(self) -> dict[str, tuple[int, int]]:
        """Per origin with held ops: the seq range missing below the first held op."""
        po = schema.pending_ops
        with self.read() as conn:
            firsts = conn.execute(select(po.c.origin, func.min(po.c.seq)).group_by(po.c.origin))
            heads = {r.origin: int(r.seq) for r in conn.execute(select(schema.heads))}
            return {origin: (heads.get(origin, 0) + 1, int(first) - 1) for origin, first in firsts}

    def pending_count(self) -> int:
        with self.read() as conn:
            return int(
                conn.execute(select(func.count()).select_from(schema.pending_ops)).scalar_one()
            )

    def range_checksum(self, origin: str, lo: int, hi: int) -> str:
        """SHA-256 over the signatures of ops lo..hi of an origin: two replicas with
        the same checksum hold the same ops (a signature covers the whole op)."""
        digest = hashlib.sha256()
        with self.read() as conn:
            rows = conn.execute(
                select(schema.ops.c.seq, schema.ops.c.sig)
                .where(
                    and_(
                        schema.ops.c.origin == origin,
                        schema.ops.c.seq >= lo,
                        schema.ops.c.seq <= hi,
                    )
                )
                .order_by(schema.ops.c.seq)
            )
            for row in rows:
                digest.update(f"{row.seq}:{row.sig};".encode("ascii"))
        return digest.hexdigest()

    # --- peers, keys, incidents ----------------------------------------------------------

    def peer_state(self, peer: str) -> PeerState:
        with self.read() as conn:
            row = conn.execute(select(schema.peers).where(schema.peers.c.peer == peer)).first()
        if row is None:
            return PeerState(peer, {}, None, None, False)
        return PeerState(
            peer, json.loads(row.vv), row.last_seen_ms, row.last_ack_ms, bool(row.connected)
        )

    def all_peers(self) -> list[PeerState]:
        with self.read() as conn:
            rows = conn.execute(select(schema.peers).order_by(schema.peers.c.peer)).all()
        return [
            PeerState(r.peer, json.loads(r.vv), r.last_seen_ms, r.last_ack_ms, bool(r.connected))
            for r in rows
        ]

    def save_peer(
        self,
        peer: str,
        *,
        vv: Mapping[str, int] | None = None,
        seen_ms: int | None = None,
        ack_ms: int | None = None,
        connected: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if vv is not None:
            values["vv"] = json.dumps(dict(sorted(vv.items())))
        if seen_ms is not None:
            values["last_seen_ms"] = seen_ms
        if ack_ms is not None:
            values["last_ack_ms"] = ack_ms
        if connected is not None:
            values["connected"] = connected
        if not values:
            return
        stmt = insert_for(self.dialect, schema.peers)
        stmt = stmt.on_conflict_do_update(index_elements=["peer"], set_=values)
        with self.write() as txn:
            txn.conn.execute(stmt, {"peer": peer, "vv": "{}", "connected": False, **values})

    def enroll(self, origin: str, public_b64: str, *, label: str | None = None) -> None:
        KeyRing({origin: public_b64})  # validates the key before storing it
        stmt = insert_for(self.dialect, schema.keyring)
        stmt = stmt.on_conflict_do_update(
            index_elements=["origin"], set_={"public_key": public_b64, "label": label}
        )
        with self.write() as txn:
            txn.conn.execute(
                stmt,
                {
                    "origin": origin,
                    "public_key": public_b64,
                    "label": label,
                    "enrolled_ms": system_ms(),
                },
            )

    def keyring(self) -> KeyRing:
        with self.read() as conn:
            rows = conn.execute(select(schema.keyring.c.origin, schema.keyring.c.public_key))
            return KeyRing({r.origin: r.public_key for r in rows})

    def enrolled(self) -> list[tuple[str, str | None]]:
        with self.read() as conn:
            rows = conn.execute(
                select(schema.keyring.c.origin, schema.keyring.c.label).order_by(
                    schema.keyring.c.origin
                )
            )
            return [(r.origin, r.label) for r in rows]

    def record_incident(
        self,
        *,
        disposition: str,
        reason: str,
        peer: str | None = None,
        origin: str | None = None,
        seq: int | None = None,
        payload: str | None = None,
        at_ms: int | None = None,
    ) -> None:
        with self.write() as txn:
            txn.conn.execute(
                schema.sync_incidents.insert(),
                {
                    "at_ms": at_ms if at_ms is not None else system_ms(),
                    "peer": peer,
                    "origin": origin,
                    "seq": seq,
                    "disposition": disposition,
                    "reason": reason[:2000],
                    "payload": payload[:4000] if payload else None,
                },
            )

    def incidents(self, limit: int = 100) -> list[dict[str, Any]]:
        si = schema.sync_incidents
        with self.read() as conn:
            rows = conn.execute(select(si).order_by(si.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def get_meta(self, key: str) -> str | None:
        with self.read() as conn:
            value = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == key)
            ).scalar()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        stmt = insert_for(self.dialect, schema.meta)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self.write() as txn:
            txn.conn.execute(stmt, {"key": key, "value": value})

    # --- projections -------------------------------------------------------------------

    def stock_levels(self) -> dict[tuple[str, str], int]:
        sl = schema.stock_levels
        with self.read() as conn:
            return {(r.sku, r.location): int(r.qty) for r in conn.execute(select(sl))}

    def catalog(self) -> dict[str, dict[str, Any]]:
        cf = schema.catalog_fields
        items: dict[str, dict[str, Any]] = {}
        with self.read() as conn:
            for r in conn.execute(select(cf.c.sku, cf.c.field, cf.c.value).order_by(cf.c.sku)):
                items.setdefault(r.sku, {})[r.field] = json.loads(r.value)
        return items

    def rebuild_projections(self) -> None:
        """Throw the projections away and fold every op again: facts, then views."""
        with self.write() as txn:
            projections.clear(txn.conn)
            last: tuple[str, int] = ("", 0)
            while True:
                rows = txn.conn.execute(
                    select(schema.ops)
                    .where(
                        (schema.ops.c.origin > last[0])
                        | and_(schema.ops.c.origin == last[0], schema.ops.c.seq > last[1])
                    )
                    .order_by(schema.ops.c.origin, schema.ops.c.seq)
                    .limit(REBUILD_CHUNK)
                ).all()
                if not rows:
                    return
                projections.project(txn.conn, [_op_of(r) for r in rows])
                last = (rows[-1].origin, int(rows[-1].seq))


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def _op_of(row: Any) -> Op:
    import base64

    return Op(
        origin=row.origin,
        seq=int(row.seq),
        hlc=int(row.hlc),
        kind=row.kind,
        v=int(row.v),
        actor=row.actor,
        body=json.loads(row.body),
        sig=base64.b64decode(row.sig),
    )
