"""ReplicaStore: the ops, the version vector, idempotent in-order apply, and the
projections of the registered areas folded in the same transaction as the ops.

The store is assembled from parts with one job each: `oplog` (reading ops, vectors,
checksums), `peers` (what each peer holds), `keys` (the keyring), `records` (incidents,
meta); this module writes and applies ops and rebuilds projections.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, delete, func, select, update

from sync_protocol.chain import GENESIS, next_link, op_digest
from sync_protocol.errors import ConfigurationError, NodeNotReady
from sync_protocol.hlc import HybridClock, system_ms
from sync_protocol.ops import Op, canonical_json
from sync_protocol.registry import EMPTY, Area, Registry
from sync_protocol.signing import NodeKey
from sync_protocol.store import schema
from sync_protocol.store.base import Prepared
from sync_protocol.store.compaction import REBUILD_HOLD, refuse_rebuild
from sync_protocol.store.dialect import insert_for
from sync_protocol.store.group_commit import GroupCommit
from sync_protocol.store.keys import KeyBook
from sync_protocol.store.migrate import upgrade_to_head
from sync_protocol.store.oplog import OpLog, insert_ops, op_of, sig_text
from sync_protocol.store.peers import PeerBook
from sync_protocol.store.records import Records

REBUILD_CHUNK = 5000
T = TypeVar("T")


@dataclass(frozen=True)
class Head:
    """An origin's head, locked for this transaction."""

    seq: int
    chain: str
    hlc: int


@dataclass(frozen=True)
class Equivocation:
    """Two different ops under one (origin, seq): the one held and the one offered."""

    origin: str
    seq: int
    held: str  # wire JSON of the op this replica holds
    offered: str  # wire JSON of the other

    @property
    def reason(self) -> str:
        return (
            f"equivocation: origin {self.origin!r} signed two different ops at seq {self.seq}; "
            f"nothing more of {self.origin!r} is applied until a person decides"
        )


@dataclass
class ApplyResult:
    applied: list[Op] = field(default_factory=list)
    duplicates: int = 0
    buffered: int = 0
    # Ops refused because their origin is blocked (equivocation found now or before).
    blocked: int = 0
    equivocations: list[Equivocation] = field(default_factory=list)


# The statements of a local write (a till's sale), compiled once: `Prepared`.
_OP_COLUMNS = ("origin", "seq", "hlc", "kind", "v", "actor", "body", "sig", "received_ms", "chain")
_INSERT_OP = Prepared(lambda _d: schema.ops.insert().values({c: bindparam(c) for c in _OP_COLUMNS}))


def _own_head_statement(dialect: str) -> Select[Any]:
    h = schema.heads
    stmt = select(h.c.seq, h.c.chain, h.c.hlc).where(h.c.origin == bindparam("origin"))
    return stmt.with_for_update() if dialect == "postgresql" else stmt


_OWN_HEAD = Prepared(_own_head_statement)
_IS_BLOCKED = Prepared(
    lambda _d: select(schema.blocked_origins.c.origin).where(
        schema.blocked_origins.c.origin == bindparam("origin")
    )
)
_SET_HEAD = Prepared(
    lambda _d: (
        update(schema.heads)
        .where(schema.heads.c.origin == bindparam("head_origin"))
        .values(seq=bindparam("head_seq"), chain=bindparam("head_chain"), hlc=bindparam("head_hlc"))
    )
)


@dataclass(frozen=True)
class TxnMark:
    """Where a transaction was when a part of it began (`WriteTxn.begin_part`)."""

    head: Head | None
    head_moved: bool
    appended: int


class WriteTxn:
    """One write transaction: append local ops and read state, all or nothing.

    The origin's head is locked at the first append and written once, when the
    transaction ends (`finish`): a transaction of many ops (a batch of sales committed
    together) reads and writes it once. Read the head through `head`, not the table."""

    def __init__(self, store: ReplicaStore, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.appended: list[Op] = []
        self._head: Head | None = None
        self._head_moved = False

    @property
    def head(self) -> Head | None:
        """This replica's head as this transaction left it (None before its first append)."""
        return self._head

    def append(self, kind: str, body: dict[str, Any], actor: str) -> Op:
        """Record a new fact of this replica: validated, signed, stored and folded, in
        this transaction."""
        if self.store.local_writes_held is not None:
            held = self.store.local_writes_held
            raise NodeNotReady(f"local writes are held: {held}", message_zh=_held_zh(held))
        key = self.store.key
        if key is None:
            raise ConfigurationError("this replica has no signing key; it cannot author ops")
        registry = self.store.registry
        v = registry.version_of(kind)
        registry.validate(kind, v, body)
        origin = self.store.origin
        head = self._head if self._head is not None else self._lock_head(origin)
        unsigned = Op(
            origin=origin,
            seq=head.seq + 1,
            # Above every stamp of this origin, whoever wrote it (another hub
            # worker, this process before a restart with a clock since set back).
            hlc=self.store.clock.now_after(head.hlc),
            kind=kind,
            v=v,
            actor=actor,
            body=body,
        )
        # The canonical envelope is encoded once, for the signature and the chain link
        # both (`chain.op_digest` of the signed op, without encoding it again).
        signing = unsigned.signing_bytes()
        sig = key.sign_bytes(signing)
        op = replace(unsigned, sig=sig)
        chain = next_link(head.chain, hashlib.sha256(signing + sig).hexdigest())
        _INSERT_OP.run(
            self.conn,
            {
                "origin": origin,
                "seq": op.seq,
                "hlc": op.hlc,
                "kind": kind,
                "v": v,
                "actor": actor,
                "body": canonical_json(body).decode("utf-8"),
                "sig": base64.b64encode(sig).decode("ascii"),
                "received_ms": system_ms(),
                "chain": chain,
            },
        )
        registry.project(self.conn, [op])
        self._head = Head(op.seq, chain, op.hlc)
        self._head_moved = True
        self.appended.append(op)
        return op

    def _lock_head(self, origin: str) -> Head:
        row = _OWN_HEAD.first(self.conn, {"origin": origin})
        head = (
            Head(int(row[0]), str(row[1]), int(row[2]))
            if row is not None
            else self.store._lock_head(self.conn, origin)  # its first op ever: make the row
        )
        if _IS_BLOCKED.first(self.conn, {"origin": origin}) is not None:
            raise NodeNotReady(
                f"origin {origin!r} is blocked for equivocation: a person must decide",
                message_zh="本节点的数据与总部不一致（同一序号两条不同记录），需人工处理后才能继续写入",
            )
        self._head = head
        return head

    def finish(self) -> None:
        """Write the head the appended ops moved to; the transaction's last statement."""
        if self._head_moved and self._head is not None:
            h = self._head
            _SET_HEAD.run(
                self.conn,
                {
                    "head_origin": self.store.origin,
                    "head_seq": h.seq,
                    "head_chain": h.chain,
                    "head_hlc": h.hlc,
                },
            )
            self._head_moved = False

    # --- parts that fail alone (group commit) -------------------------------------------

    def begin_part(self) -> TxnMark:
        """Start a part of this transaction that can be undone alone (a savepoint)."""
        self.conn.exec_driver_sql("SAVEPOINT sf_part")
        return TxnMark(self._head, self._head_moved, len(self.appended))

    def keep_part(self) -> None:
        self.conn.exec_driver_sql("RELEASE SAVEPOINT sf_part")

    def undo_part(self, mark: TxnMark) -> None:
        """Undo what the part wrote (its ops, their projections, the head it moved) and
        nothing before it."""
        self.conn.exec_driver_sql("ROLLBACK TO SAVEPOINT sf_part")
        self.conn.exec_driver_sql("RELEASE SAVEPOINT sf_part")
        self._head, self._head_moved = mark.head, mark.head_moved
        del self.appended[mark.appended :]


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
            txn = WriteTxn(self, conn)
            yield txn
            txn.finish()

    def write_together(self, work: Callable[[WriteTxn], T]) -> T:
        """Run `work` in a write transaction it may share with the writes other threads
        make at the same moment: one commit (one fsync) for all of them (group commit,
        `sync_protocol.store.group_commit`). It returns only after that commit, with
        what `work` returned; an exception `work` raises undoes its writes alone.
        `work` may run in another writer's thread, and must write through `txn` only
        (never through the store again: that would wait for itself)."""
        return GroupCommit.of(self).run(work)

    def _resume_clock(self) -> None:
        """A restarted replica never stamps below what it already wrote or saw. Its own
        last stamp is resumed even when it is ahead of the wall clock (a clock that was
        skewed, since set right): going back would lose last-writer-wins to its own
        older writes. That is flagged; others' stamps stay behind the clock guard."""
        h = schema.heads
        with self.read() as conn:
            own = conn.execute(select(h.c.hlc).where(h.c.origin == self.origin)).scalar()
            others = conn.execute(select(func.max(h.c.hlc)).where(h.c.origin != self.origin))
            top = others.scalar()
        if top:
            self.clock.observe(int(top))
        if own:
            ahead_ms = self.clock.floor(int(own))
            if ahead_ms > self.clock.max_drift_ms:
                self.record_incident(
                    disposition="flagged",
                    kind="clock_ahead",
                    origin=self.origin,
                    reason=f"this replica's last stamp is {ahead_ms / 3_600_000:.1f} h ahead "
                    "of its wall clock; its stamps continue from it (check the clock)",
                )

    # --- apply -------------------------------------------------------------------------

    def apply(
        self,
        ops: Iterable[Op],
        *,
        now_ms: int | None = None,
        after: Mapping[str, str] | None = None,
    ) -> ApplyResult:
        """Store and fold received ops. Duplicates are no-ops; an op ahead of a gap is
        held until the gap fills; each origin's ops fold in seq order. An op that differs
        from the one held under its (origin, seq) is equivocation: the origin is blocked
        (none of its ops apply) until `release_origin`. Callers verify signatures first:
        the store trusts what it is given. `after` gives, per origin, the sender's chain
        link before the first of its ops here: a different link at that seq here is
        equivocation too."""
        received = now_ms if now_ms is not None else system_ms()
        by_origin: dict[str, list[Op]] = {}
        for op in ops:
            by_origin.setdefault(op.origin, []).append(op)
        result = ApplyResult()
        with self.write() as txn:
            for origin in sorted(by_origin):
                link = (after or {}).get(origin)
                self._apply_origin(txn.conn, origin, by_origin[origin], link, received, result)
        for op in result.applied:
            self.clock.observe(op.hlc)
        return result

    def _apply_origin(
        self,
        conn: Connection,
        origin: str,
        ops: list[Op],
        link_before: str | None,
        received: int,
        result: ApplyResult,
    ) -> None:
        group = sorted(ops, key=lambda o: o.seq)
        start = self._lock_head(conn, origin)
        if self._is_blocked(conn, origin):
            result.blocked += len(group)
            return
        if link_before is not None:
            fork = self._fork_before(conn, start, group[0], link_before)
            if fork is not None:
                self._refuse(conn, fork, group, received, result)
                return
        head = start.seq
        ready: list[Op] = []
        held: dict[int, Op] = {}
        seen: list[Op] = []  # at or below the head when they came: compare, then drop
        for op in group:
            if op.seq <= head or op.seq in held:
                seen.append(op)
            elif op.seq == head + 1:
                ready.append(op)
                head += 1
            else:
                held[op.seq] = op
        links = _links_before_held(group[0], link_before, held)
        # Every op held earlier above the head this batch started from: the batch may
        # bring another op under one of their seqs, or fill the gap before them.
        pending = self._pending(conn, origin, start.seq)
        offered = {op.seq for op in group}
        # Earlier-held ops, and this batch's own out-of-order ones, that the batch made
        # contiguous.
        head, joined = self._drain_pending(start, head, held, links, pending, ready)
        forks = [joined] if joined is not None else []
        forks += self._forks(conn, start.seq, ready, held, pending, seen, offered)
        if forks:
            self._refuse(conn, forks[0], group, received, result, also=forks[1:])
            return
        result.duplicates += len(seen)
        for op in held.values():
            if op.seq > head:
                result.buffered += self._hold(conn, op, received, links.get(op.seq))
            else:
                result.duplicates += 1
        if ready:
            chain = insert_ops(conn, ready, start.chain, received)
            self.registry.project(conn, ready)
            result.applied.extend(ready)
            top = max(start.hlc, max(op.hlc for op in ready))
            self._set_head(conn, origin, Head(head, chain, top))
            conn.execute(
                delete(schema.pending_ops).where(
                    and_(schema.pending_ops.c.origin == origin, schema.pending_ops.c.seq <= head)
                )
            )

    def _refuse(
        self,
        conn: Connection,
        fork: Equivocation,
        group: list[Op],
        received: int,
        result: ApplyResult,
        *,
        also: list[Equivocation] | None = None,
    ) -> None:
        """Two histories of the origin: block it, and apply none of this batch."""
        self._block(conn, fork, received)
        result.equivocations.extend([fork, *(also or [])])
        result.blocked += len(group)

    def _forks(
        self,
        conn: Connection,
        stored_up_to: int,
        ready: list[Op],
        held: dict[int, Op],
        pending: dict[int, _Held],
        seen: list[Op],
        offered: set[int],
    ) -> list[Equivocation]:
        """Ops offered under a (origin, seq) whose op this replica already has (stored,
        held, or earlier in the batch) but that differ from it. An op held past a gap
        is compared too when the batch fills its seq directly: otherwise it would be
        deleted unseen as the head passes it."""
        known: dict[int, Op] = {op.seq: op for op in ready}
        for seq, op in held.items():
            known.setdefault(seq, op)
        forks: list[Equivocation] = []
        stored_seqs = sorted({op.seq for op in seen if op.seq <= stored_up_to})
        stored: dict[int, str] = {}
        if stored_seqs:
            o = schema.ops
            rows = conn.execute(
                select(o).where(
                    and_(
                        o.c.origin == seen[0].origin,
                        o.c.seq >= stored_seqs[0],
                        o.c.seq <= stored_seqs[-1],
                    )
                )
            )
            by_seq = {int(r.seq): r for r in rows}
            for seq in stored_seqs:
                if seq in by_seq:
                    stored[seq] = by_seq[seq].sig
                    known.setdefault(seq, op_of(by_seq[seq]))
        # The batch's own ops that go in now (an op drained from `pending` is the held
        # op itself: nothing to compare).
        arriving = [op for op in ready if op.seq in offered]
        for op in [*seen, *held.values(), *arriving]:
            other = known.get(op.seq)
            if op.seq in stored and stored[op.seq] != sig_text(op):
                forks.append(_fork(known[op.seq], op))
            elif other is not None and other is not op and other.sig != op.sig:
                forks.append(_fork(other, op))
            elif op.seq in pending and pending[op.seq].wire != _wire(op):
                forks.append(Equivocation(op.origin, op.seq, pending[op.seq].wire, _wire(op)))
        return forks

    def _fork_before(
        self, conn: Connection, head: Head, first: Op, link_before: str
    ) -> Equivocation | None:
        """The sender's history of `first.origin` ends at `link_before` just before
        `first`; where this replica holds that seq, its link must be the same."""
        seq = first.seq - 1
        if seq <= 0 or seq > head.seq:
            return None
        if seq == head.seq:
            mine: str | None = head.chain
        else:
            o = schema.ops
            mine = conn.execute(
                select(o.c.chain).where(and_(o.c.origin == first.origin, o.c.seq == seq))
            ).scalar()
        if mine is None or mine == link_before:
            return None
        return Equivocation(
            first.origin, seq, held=f"chain link {mine}", offered=f"chain link {link_before}"
        )

    def block_origin(self, fork: Equivocation, *, at_ms: int | None = None) -> None:
        """Block an origin found equivocating (by comparing chain links)."""
        with self._begin() as conn:
            self._block(conn, fork, at_ms if at_ms is not None else system_ms())

    def is_blocked(self, origin: str) -> bool:
        with self.read() as conn:
            return self._is_blocked(conn, origin)

    def _block(self, conn: Connection, fork: Equivocation, at_ms: int) -> None:
        conn.execute(
            insert_for(self.dialect, schema.blocked_origins).on_conflict_do_nothing(
                index_elements=["origin"]
            ),
            {
                "origin": fork.origin,
                "seq": fork.seq,
                "reason": fork.reason,
                "evidence": canonical_json({"held": fork.held, "offered": fork.offered}).decode(),
                "at_ms": at_ms,
            },
        )

    def _is_blocked(self, conn: Connection, origin: str) -> bool:
        b = schema.blocked_origins
        return conn.execute(select(b.c.origin).where(b.c.origin == origin)).first() is not None

    def blocked_origins(self) -> list[dict[str, Any]]:
        """Origins blocked for equivocation, with the evidence, oldest first."""
        b = schema.blocked_origins
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(b).order_by(b.c.at_ms))]

    def release_origin(self, origin: str, *, by: str, why: str) -> bool:
        """A person (`by`) has decided about an equivocating origin: apply its ops again
        (the ops already held stay; the other version is in the evidence, kept in the
        incident that records the decision). False when it was not blocked. The release
        and its incident are one transaction: no release without its record."""
        b = schema.blocked_origins
        with self._begin() as conn:
            row = conn.execute(select(b).where(b.c.origin == origin)).first()
            if row is None:
                return False
            conn.execute(delete(b).where(b.c.origin == origin))
            self._record_incident(
                conn,
                kind="origin_released",
                disposition="released",
                origin=origin,
                seq=int(row.seq),
                reason=f"released by {by}: {why} (blocked for: {row.reason})",
                payload=row.evidence,
            )
        return True

    def _pending(self, conn: Connection, origin: str, above: int) -> dict[int, _Held]:
        """The ops of `origin` held past a gap above seq `above`, by seq."""
        po = schema.pending_ops
        rows = conn.execute(
            select(po.c.seq, po.c.wire, po.c.link_before).where(
                and_(po.c.origin == origin, po.c.seq > above)
            )
        )
        return {int(r.seq): _Held(str(r.wire), r.link_before) for r in rows}

    def _drain_pending(
        self,
        start: Head,
        head: int,
        held: dict[int, Op],
        links: dict[int, str],
        pending: dict[int, _Held],
        ready: list[Op],
    ) -> tuple[int, Equivocation | None]:
        """Move the held ops that `ready` made contiguous (this batch's own, then those
        held earlier) onto `ready`, in seq order. A held op whose page said the chain
        link before it must follow exactly that link: a gap filled by another history
        (another op under a seq before it) is equivocation, and nothing is joined."""
        chain = _ChainCursor(start, ready)
        while True:
            nxt = head + 1
            if nxt in held:
                op, link = held[nxt], links.get(nxt)
            elif nxt in pending:
                op = Op.from_wire(json.loads(pending[nxt].wire))
                link = pending[nxt].link_before
            else:
                return head, None
            if link is not None and (mine := chain.at(nxt - 1)) != link:
                return head, Equivocation(
                    op.origin,
                    nxt - 1,
                    held=f"chain link {link} (before the op held at seq {nxt})",
                    offered=f"chain link {mine}",
                )
            held.pop(nxt, None)
            ready.append(op)
            head = nxt

    def _hold(
        self, conn: Connection, op: Op, received_ms: int, link_before: str | None = None
    ) -> int:
        po = schema.pending_ops
        stmt = insert_for(self.dialect, po).on_conflict_do_nothing(index_elements=["origin", "seq"])
        res = conn.execute(
            stmt,
            {
                "origin": op.origin,
                "seq": op.seq,
                "wire": _wire(op),
                "received_ms": received_ms,
                "link_before": link_before,
            },
        )
        if res.rowcount:
            return 1
        if link_before is not None:
            # Held before without its link (it was not first on its page): learn it now.
            conn.execute(
                update(po)
                .where(and_(po.c.origin == op.origin, po.c.seq == op.seq))
                .where(po.c.link_before.is_(None))
                .values(link_before=link_before)
            )
        return 0

    def _lock_head(self, conn: Connection, origin: str) -> Head:
        h = schema.heads
        conn.execute(
            insert_for(self.dialect, h).on_conflict_do_nothing(index_elements=["origin"]),
            {"origin": origin, "seq": 0, "chain": GENESIS, "hlc": 0},
        )
        stmt = select(h.c.seq, h.c.chain, h.c.hlc).where(h.c.origin == origin)
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).one()
        return Head(int(row.seq), str(row.chain), int(row.hlc))

    def _set_head(self, conn: Connection, origin: str, head: Head) -> None:
        conn.execute(
            update(schema.heads)
            .where(schema.heads.c.origin == origin)
            .values(seq=head.seq, chain=head.chain, hlc=head.hlc)
        )

    # --- projections -------------------------------------------------------------------

    def rebuild_projections(self, areas: Iterable[Area] | None = None) -> None:
        """Throw the projections of `areas` (default: every area) away and fold their
        ops again, in one transaction: facts, then views."""
        chosen = list(self.registry.areas if areas is None else areas)
        if not chosen:
            return
        if refuse_rebuild(self, [area.name for area in chosen]):
            return  # compacted: only the hub's snapshot can rebuild (docs/compaction.md)
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


def _held_zh(reason: str) -> str:
    """What a cashier reads when the till may not write: whether to wait or fetch a
    manager (a hold that a person must lift says so in its reason)."""
    if "a person must decide" in reason:
        return "节点从备份恢复，但总部持有的本节点数据有缺口无法补齐：须由店长处理后才能继续写入"
    if reason == REBUILD_HOLD:
        return "节点正在从总部快照重建数据，完成前暂停写入，请稍候"
    return "节点从备份恢复后正在与总部核对数据，请稍后再试"


def _wire(op: Op) -> str:
    return canonical_json(op.to_wire()).decode("utf-8")


def _fork(held: Op, offered: Op) -> Equivocation:
    return Equivocation(held.origin, held.seq, _wire(held), _wire(offered))


@dataclass(frozen=True)
class _Held:
    """An op held past a gap: its wire form, and the chain link before it as the page
    that brought it said (None: not known)."""

    wire: str
    link_before: str | None


class _ChainCursor:
    """The chain links of `ops` (one origin's, contiguous, right after `start`),
    computed only as far as asked: most batches never ask."""

    def __init__(self, start: Head, ops: list[Op]) -> None:
        self.ops = ops  # grows while it is read: the ops drained so far
        self.first = start.seq + 1
        self.seq = start.seq
        self.link = start.chain

    def at(self, seq: int) -> str:
        while self.seq < seq:
            self.link = next_link(self.link, op_digest(self.ops[self.seq + 1 - self.first]))
            self.seq += 1
        return self.link


def _links_before_held(first: Op, link_before: str | None, held: dict[int, Op]) -> dict[int, str]:
    """The chain link before each of a batch's held ops, where it is known: before the
    batch's first op when that lands past a gap (its page said it), and before each
    held op that follows one whose link is known."""
    if link_before is None or held.get(first.seq) is not first:
        return {}
    links = {first.seq: link_before}
    seq, link = first.seq, link_before
    while seq + 1 in held:
        link = next_link(link, op_digest(held[seq]))
        seq += 1
        links[seq] = link
    return links
