"""Session leases: the one hub worker that runs a node's sync session, until when.

A worker sends to a node (pages, acks, hellos) only while it holds that node's lease;
so two workers never send the same pages. Every statement here is one atomic row
operation, so concurrent workers need no other lock:

- `take` is one `INSERT … ON CONFLICT (node) DO UPDATE … WHERE` the lease is this
  worker's or has expired: PostgreSQL locks the conflicting row and evaluates the WHERE
  on its newest version, SQLite runs it under the database write lock (BEGIN
  IMMEDIATE). Of two workers racing for a free or expired lease exactly one gets a row
  back; the other reads who won.
- `renew` is one `UPDATE … WHERE worker = me RETURNING node` for all of a worker's
  leases: one statement a second whatever the number of nodes. A lease missing from
  the answer was taken by another worker after it expired: its session must stop.
- `release` deletes a worker's leases at a clean stop, so others take over at once
  instead of after the expiry; a worker known dead (its Last Will) may be taken
  from at once too (`dead`).

Times are the workers' wall clocks in ms (passed in, so tests drive them): workers
whose clocks differ by ε may overlap by ε at a takeover, far below the expiry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    case,
    delete,
    func,
    select,
    update,
)

from sync_protocol.store.dialect import insert_for

metadata = MetaData()

session_leases = Table(
    "session_leases",
    metadata,
    Column("node", String(64), primary_key=True),
    Column("worker", String(64), nullable=False, index=True),
    Column("expires_ms", BigInteger, nullable=False),
    # When its worker took it (kept by renewals): a young lease's holder may not yet
    # receive the node's topic itself, so others pass the node's messages on to it.
    Column("taken_ms", BigInteger, nullable=False),
)

LEASE_MS = 3_000
"""How long a lease lasts unrenewed: a dead worker's nodes are taken over this long
after its last renewal (or at once after a clean stop, which releases them)."""


@dataclass(frozen=True)
class Lease:
    node: str
    worker: str
    expires_ms: int
    taken_ms: int

    def valid(self, now_ms: int) -> bool:
        return now_ms < self.expires_ms


class LeaseBook:
    def __init__(self, engine: Engine, worker: str, *, lease_ms: int = LEASE_MS) -> None:
        self.engine = engine
        self.worker = worker
        self.lease_ms = lease_ms
        self._dialect = engine.dialect.name

    def take(
        self,
        node: str,
        now_ms: int,
        *,
        worker: str | None = None,
        dead: Collection[str] = (),
    ) -> Lease:
        """Take (or keep) `node`'s lease for this worker (or for `worker`) if it is free,
        expired, held by one of the `dead` workers or already theirs; return the lease
        as it stands: theirs, or the holder's when it is not."""
        t = session_leases
        taker = worker or self.worker
        expires = now_ms + self.lease_ms
        stmt = insert_for(self._dialect, t).values(
            node=node, worker=taker, expires_ms=expires, taken_ms=now_ms
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.node],
            set_={
                "worker": taker,
                "expires_ms": expires,
                # (the row's columns here are its values before this update)
                "taken_ms": case((t.c.worker == taker, t.c.taken_ms), else_=now_ms),
            },
            where=(t.c.worker == taker)
            | (t.c.expires_ms <= now_ms)
            | (t.c.worker.in_(sorted(dead))),
        ).returning(t.c.worker, t.c.expires_ms, t.c.taken_ms)
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
            if row is None:  # held by another worker, unexpired: say whose
                row = conn.execute(
                    select(t.c.worker, t.c.expires_ms, t.c.taken_ms).where(t.c.node == node)
                ).one()
        return Lease(node, row.worker, row.expires_ms, row.taken_ms)

    def assign(
        self, node: str, workers: Iterable[str], now_ms: int, *, dead: Collection[str] = ()
    ) -> Lease:
        """`node`'s lease as it stands if it holds (and its holder is not `dead`); else
        given to the one of `workers` (the live ones) serving the fewest nodes, ties
        broken by a hash of the node and the worker's id (so that workers deciding at
        once mostly agree)."""
        current = self.holder(node)
        if current is not None and current.valid(now_ms) and current.worker not in dead:
            return current
        candidates = sorted(set(workers) | {self.worker})
        t = session_leases
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.worker, func.count())
                .where(t.c.expires_ms > now_ms, t.c.worker.in_(candidates))
                .group_by(t.c.worker)
            ).all()
        load = {row[0]: int(row[1]) for row in rows}
        chosen = min(candidates, key=lambda w: (load.get(w, 0), _rank(node, w)))
        return self.take(node, now_ms, worker=chosen, dead=dead)

    def renew(self, now_ms: int) -> dict[str, int]:
        """Extend every lease this worker still holds; returns them (node → expiry).
        One statement for all of them."""
        t = session_leases
        expires = now_ms + self.lease_ms
        stmt = (
            update(t)
            .where(t.c.worker == self.worker)
            .values(expires_ms=expires)
            .returning(t.c.node)
        )
        with self.engine.begin() as conn:
            return {row.node: expires for row in conn.execute(stmt)}

    def release(self, nodes: Iterable[str] | None = None) -> None:
        """Give up this worker's leases (all, or of `nodes`): another worker takes them
        at the node's next message instead of after the expiry."""
        t = session_leases
        stmt = delete(t).where(t.c.worker == self.worker)
        if nodes is not None:
            stmt = stmt.where(t.c.node.in_(list(nodes)))
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def holder(self, node: str) -> Lease | None:
        t = session_leases
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.node == node)).first()
        return None if row is None else Lease(row.node, row.worker, row.expires_ms, row.taken_ms)

    def all(self) -> list[Lease]:
        t = session_leases
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.node)).all()
        return [Lease(r.node, r.worker, r.expires_ms, r.taken_ms) for r in rows]


def _rank(node: str, worker: str) -> bytes:
    """Rendezvous hashing: each node has its own order of the workers."""
    return hashlib.sha256(f"{node}\0{worker}".encode()).digest()
