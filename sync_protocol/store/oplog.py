"""Reading the ops a replica holds: its version vector, pages of ops beyond a peer's
vector, ranges, gaps, and range checksums that prove two replicas hold the same ops."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from sync_protocol.chain import next_link, op_digest
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from sync_protocol.store import schema
from sync_protocol.store.base import Prepared, StoreBase
from sync_protocol.store.compaction import read_floors
from sync_protocol.version_vector import VersionVector

log = logging.getLogger(__name__)


def op_of(row: Any) -> Op:
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


def sig_text(op: Op) -> str:
    return base64.b64encode(op.sig).decode("ascii")


def insert_ops(
    conn: Connection, ops: Sequence[Op], chain: str, received_ms: int | None = None
) -> str:
    """Store the next ops of one origin, in seq order, after the op whose chain link is
    `chain`; returns the link of the last one."""
    at = received_ms if received_ms is not None else system_ms()
    rows = []
    for op in ops:
        sig = sig_text(op)
        chain = next_link(chain, op_digest(op))
        rows.append(
            {
                "origin": op.origin,
                "seq": op.seq,
                "hlc": op.hlc,
                "kind": op.kind,
                "v": op.v,
                "actor": op.actor,
                "body": op.body_json().decode("utf-8"),
                "sig": sig,
                "received_ms": at,
                "chain": chain,
            }
        )
    _INSERT_OPS.run_many(conn, rows)
    return chain


# Catch-up stores thousands of ops a second: straight to the driver's executemany.
_INSERT_OPS = Prepared(lambda _dialect: schema.ops.insert())


class OpLog(StoreBase):
    def version_vector(self, origins: Iterable[str] | None = None) -> VersionVector:
        """What this replica holds: the head of each origin (of `origins`, if given)."""
        h = schema.heads
        stmt = select(h.c.origin, h.c.seq).where(h.c.seq > 0)
        if origins is not None:
            stmt = stmt.where(h.c.origin.in_(sorted(origins)))
        with self.read() as conn:
            return {r.origin: int(r.seq) for r in conn.execute(stmt)}

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
        mine = self.version_vector(origins)
        out: list[Op] = []
        size = 0
        holes: list[tuple[str, int, int]] = []
        with self.read() as conn:
            for origin in sorted(mine):
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
                first = True
                for row in rows:
                    if first and int(row.seq) != lo + 1:
                        # Compacted away (or never held, below a snapshot): this
                        # origin's ops from `lo` cannot be served without a hole.
                        holes.append((origin, lo + 1, int(row.seq) - 1))
                        break
                    first = False
                    out.append(op_of(row))
                    size += len(row.body) + 200
                    if size >= max_bytes:
                        break
                if first and not any(h[0] == origin for h in holes):
                    holes.append((origin, lo + 1, mine[origin]))
                if len(out) >= limit or size >= max_bytes:
                    break
        for origin, lo, hi in holes:
            self._refuse_hole(origin, lo, hi)
        return out

    def _refuse_hole(self, origin: str, lo: int, hi: int) -> None:
        """A peer asked for ops this replica no longer holds (compacted, or below the
        snapshot it started from): refused, recorded, never papered over."""
        log.warning("asked for %s seqs %d..%d, which this replica no longer holds", origin, lo, hi)
        record = getattr(self, "record_incident", None)  # every ReplicaStore has Records
        if record is not None:
            record(
                disposition="rejected",
                kind="compacted_away",
                origin=origin,
                seq=lo,
                reason=f"ops {origin}/{lo}..{hi} were asked for but are no longer held here "
                "(compacted after the hub acknowledged them, or below the snapshot this "
                "replica started from): only the hub, the archive, can serve them",
            )

    def ops_range(self, origin: str, lo: int, hi: int) -> list[Op]:
        """Ops lo..hi of an origin that this replica holds. When it no longer holds the
        first of them (compacted), none are returned and the request is recorded: ops
        after a hole are not an answer to "send me lo..hi"."""
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
            ops = [op_of(r) for r in rows]
            if not ops or ops[0].seq == lo:
                return ops
            through = read_floors(conn).get(origin)
        if through is None or through.through < lo:
            return ops  # never held lo at all (a gap of our own): not a compaction
        self._refuse_hole(origin, lo, ops[0].seq - 1)
        return []

    def all_ops(self) -> list[Op]:
        with self.read() as conn:
            rows = conn.execute(select(schema.ops).order_by(schema.ops.c.origin, schema.ops.c.seq))
            return [op_of(r) for r in rows]

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

    def chain_links(self, seqs: Mapping[str, int]) -> dict[str, str]:
        """The chain link this replica holds at each (origin, seq) asked for; origins it
        does not hold that far are left out."""
        if not seqs:
            return {}
        o = schema.ops
        wanted = [and_(o.c.origin == origin, o.c.seq == seq) for origin, seq in seqs.items()]
        with self.read() as conn:
            rows = conn.execute(select(o.c.origin, o.c.chain).where(or_(*wanted)))
            links = {r.origin: str(r.chain) for r in rows}
            missing = {origin: seq for origin, seq in seqs.items() if origin not in links}
            if missing:
                # Not held as an op (compacted, or the head a snapshot set): the head
                # and the compaction floor still know their links.
                h = schema.heads
                for r in conn.execute(select(h).where(h.c.origin.in_(sorted(missing)))):
                    if int(r.seq) == missing[r.origin] and r.seq > 0:
                        links[r.origin] = str(r.chain)
                for origin, floor in read_floors(conn).items():
                    if origin not in links and missing.get(origin) == floor.through:
                        links[origin] = floor.link
            return links

    def head_links(self, origins: Iterable[str] | None = None) -> dict[str, tuple[int, str]]:
        """(seq, chain link) of each origin's head: what this replica holds, provably."""
        h = schema.heads
        stmt = select(h.c.origin, h.c.seq, h.c.chain).where(h.c.seq > 0)
        if origins is not None:
            stmt = stmt.where(h.c.origin.in_(sorted(origins)))
        with self.read() as conn:
            return {r.origin: (int(r.seq), str(r.chain)) for r in conn.execute(stmt)}

    def holdings(self, origins: Iterable[str] | None = None) -> Holdings:
        """What this replica says it holds, in one read: each origin's head with its
        chain link, and the ops it holds past a gap (`held_past_gaps`)."""
        h = schema.heads
        stmt = select(h.c.origin, h.c.seq, h.c.chain).where(h.c.seq > 0)
        if origins is not None:
            stmt = stmt.where(h.c.origin.in_(sorted(origins)))
        with self.read() as conn:
            heads = {r.origin: (int(r.seq), str(r.chain)) for r in conn.execute(stmt)}
            return Holdings(heads, _held_past_gaps(conn, origins))

    def held_past_gaps(self, origins: Iterable[str] | None = None) -> dict[str, tuple[int, str]]:
        """Per origin (of `origins`, if given) with ops held past a gap: the highest seq
        held, and the chain link at it as the held ops' pages said ("" when not known).
        Those seqs are taken: their origin must not write under them again."""
        with self.read() as conn:
            return _held_past_gaps(conn, origins)

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


@dataclass(frozen=True)
class Holdings:
    heads: dict[str, tuple[int, str]]  # origin -> (head seq, chain link there)
    past_gaps: dict[str, tuple[int, str]]  # origin -> (highest seq held past a gap, link)


def _held_past_gaps(conn: Connection, origins: Iterable[str] | None) -> dict[str, tuple[int, str]]:
    po = schema.pending_ops
    stmt = select(po.c.origin, func.max(po.c.seq).label("top")).group_by(po.c.origin)
    if origins is not None:
        stmt = stmt.where(po.c.origin.in_(sorted(origins)))
    tops = conn.execute(stmt).all()
    if not tops:
        return {}
    rows = conn.execute(
        select(po.c.origin, po.c.seq, po.c.wire, po.c.link_before).where(
            or_(*(and_(po.c.origin == r.origin, po.c.seq == r.top) for r in tops))
        )
    )
    out: dict[str, tuple[int, str]] = {}
    for r in rows:
        link = ""
        if r.link_before is not None:
            link = next_link(str(r.link_before), op_digest(Op.from_wire(json.loads(r.wire))))
        out[str(r.origin)] = (int(r.seq), link)
    return out
