"""Signed snapshots: a replica's projections and the heads they reflect, in one file.

A new or very stale node starts from a snapshot made by the archive (the hub) instead
of replaying every op since the beginning, then receives the ops after it through the
normal sync session. The archive keeps every op; the snapshot is a view of them.

What is in it (canonical JSON, zlib-compressed):

    f         format (1)
    by        the origin that made and signed it (the hub's)
    for       the node it was made for (its projections fold only the origins relayed to it)
    taken_ms  when
    heads     origin -> {seq, chain, hlc}: the ops the projections reflect, exactly
    links     origin -> [seq, chain]: the archive's chain link at the seqs the requester
              said it holds, so it can prove its own history is the archive's
    tables    table -> {columns, rows}: every projection table of every registered area,
              rows ordered by primary key

The file is `MAGIC`, the 64-byte Ed25519 signature, then the compressed body. The
signature covers `SIGNED_PREFIX` + the compressed body (the prefix keeps a snapshot's
signature from ever passing for an op's or a sealed message's), and is checked before a
byte is inflated; inflating is capped. `take` reads heads and ops in one consistent read
transaction (REPEATABLE READ on PostgreSQL; one SQLite read transaction) and folds them
into a scratch SQLite database through the registry, so the projections are exactly
those of the heads it names.

`install` replaces the projections, sets the heads, forgets the ops at or below them and
records the floor (`sync_protocol.store.compaction`) and the snapshot, in one
transaction, and only when the replica holds nothing the archive lacks: for every
origin, its head is at or below the snapshot's and its chain link at its head is the
archive's (the same history). Otherwise `SnapshotRejected`, and nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection, Table, and_, create_engine, delete, select
from sqlalchemy.pool import StaticPool

from sync_protocol.errors import ConfigurationError, SnapshotRejected
from sync_protocol.hlc import system_ms
from sync_protocol.ops import canonical_json
from sync_protocol.registry import Registry
from sync_protocol.signing import NodeKey, public_key_from_b64
from sync_protocol.store import schema
from sync_protocol.store.compaction import (
    NEEDS_SNAPSHOT_KEY,
    Floor,
    read_floors,
    write_floors,
)
from sync_protocol.store.dialect import insert_for
from sync_protocol.store.oplog import op_of
from sync_protocol.store.replica import ReplicaStore

MAGIC = b"SFSNAP1\n"
SIGNED_PREFIX = b"shopfloor-snapshot/1\n"
FORMAT = 1
SIG_BYTES = 64
MAX_INFLATED = 256 * 1024 * 1024
FOLD_CHUNK = 5000
INSERT_CHUNK = 500
INSTALLED_KEY = "snapshot"
MEDIA_TYPE = "application/vnd.shopfloor.snapshot"


def request_line(node: str, *, hub_seq: int, own_seq: int) -> str:
    """What a node signs to ask for its snapshot (`sync_protocol.node_proof`)."""
    return f"GET /api/sync/nodes/{node}/snapshot?hub_seq={hub_seq}&own_seq={own_seq}"


@dataclass(frozen=True)
class HeadAt:
    seq: int
    chain: str
    hlc: int


@dataclass(frozen=True)
class Snapshot:
    by: str
    for_node: str
    taken_ms: int
    heads: dict[str, HeadAt]
    links: dict[str, tuple[int, str]]
    tables: dict[str, tuple[list[str], list[list[Any]]]]
    digest: str  # sha256 of the signed body: the snapshot's id

    def rows(self, table: str) -> int:
        return len(self.tables[table][1])


@dataclass(frozen=True)
class Installed:
    digest: str
    heads: dict[str, int]
    ops_forgotten: int
    rows: int


# --- taking ------------------------------------------------------------------------------


def take(
    store: ReplicaStore,
    *,
    origins: Iterable[str],
    for_node: str,
    key: NodeKey,
    registry: Registry | None = None,
    held: Mapping[str, int] | None = None,
    now_ms: int | None = None,
) -> bytes:
    """A signed snapshot for `for_node` of the projections of `origins`' ops as `store`
    holds them now, folded by `registry` (the node's areas; default the store's).
    `held`: the seq the requester holds of each origin, whose chain links go into the
    snapshot (for its safety check)."""
    wanted = sorted(set(origins))
    registry = registry or store.registry
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    try:
        for md in registry.metadata():
            md.create_all(scratch, tables=[t for t in registry.tables() if t.metadata is md])
        with store.read_engine.connect() as raw:
            conn = raw
            if raw.dialect.name == "postgresql":
                conn = raw.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin(), scratch.begin() as fold:
                heads = _heads_of(conn, wanted)
                links = _links_at(conn, heads, held or {})
                for origin in sorted(heads):
                    _fold(conn, fold, registry, origin, heads[origin].seq)
                tables = {t.name: _dump(fold, t) for t in registry.tables()}
    finally:
        scratch.dispose()
    body = {
        "f": FORMAT,
        "by": store.origin,
        "for": for_node,
        "taken_ms": now_ms if now_ms is not None else system_ms(),
        "heads": {
            o: {"seq": h.seq, "chain": h.chain, "hlc": h.hlc} for o, h in sorted(heads.items())
        },
        "links": {o: [s, link] for o, (s, link) in sorted(links.items())},
        "tables": {
            name: {"columns": columns, "rows": rows} for name, (columns, rows) in tables.items()
        },
    }
    packed = zlib.compress(canonical_json(body), 6)
    return MAGIC + key.sign_bytes(SIGNED_PREFIX + packed) + packed


def _heads_of(conn: Connection, origins: list[str]) -> dict[str, HeadAt]:
    h = schema.heads
    rows = conn.execute(select(h).where(and_(h.c.origin.in_(origins), h.c.seq > 0)))
    return {r.origin: HeadAt(int(r.seq), str(r.chain), int(r.hlc)) for r in rows}


def _links_at(
    conn: Connection, heads: Mapping[str, HeadAt], held: Mapping[str, int]
) -> dict[str, tuple[int, str]]:
    o = schema.ops
    out: dict[str, tuple[int, str]] = {}
    for origin, seq in sorted(held.items()):
        head = heads.get(origin)
        if head is None or not 0 < seq <= head.seq:
            continue
        if seq == head.seq:
            out[origin] = (seq, head.chain)
            continue
        link = conn.execute(
            select(o.c.chain).where(and_(o.c.origin == origin, o.c.seq == seq))
        ).scalar()
        if link is not None:
            out[origin] = (seq, str(link))
    return out


def _fold(source: Connection, into: Connection, registry: Registry, origin: str, head: int) -> None:
    o = schema.ops
    last = 0
    while last < head:
        rows = source.execute(
            select(o)
            .where(and_(o.c.origin == origin, o.c.seq > last, o.c.seq <= head))
            .order_by(o.c.seq)
            .limit(FOLD_CHUNK)
        ).all()
        if not rows:
            raise ConfigurationError(
                f"cannot take a snapshot: ops of {origin!r} after seq {last} are not held here "
                "(only the archive, which keeps every op, can make one)",
                message_zh="无法生成快照：本库未保存全部操作记录",
            )
        if int(rows[0].seq) != last + 1:
            raise ConfigurationError(
                f"cannot take a snapshot: {origin!r} has a hole after seq {last}",
                message_zh="无法生成快照：操作记录不连续",
            )
        registry.project(into, [op_of(r) for r in rows])
        last = int(rows[-1].seq)


def _dump(conn: Connection, table: Table) -> tuple[list[str], list[list[Any]]]:
    columns = [c.name for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    found = conn.execute(select(table).order_by(*order))
    rows = [[_plain(table.name, v) for v in row] for row in found]
    return columns, rows


def _plain(table: str, value: Any) -> Any:
    """A projection value as JSON keeps it exactly (no float rounding surprises)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ConfigurationError(
        f"table {table!r} holds a {type(value).__name__}, which a snapshot cannot carry",
        message_zh=f"快照不支持表 {table} 中的数据类型",
    )


# --- reading -----------------------------------------------------------------------------


def read(
    data: bytes,
    *,
    signer: str,
    public_key_b64: str,
    for_node: str,
    registry: Registry,
    max_inflated: int = MAX_INFLATED,
) -> Snapshot:
    """The snapshot in `data`, once its signature verifies against `signer`'s key (the
    hub key this node is enrolled with), it is for `for_node`, and its tables are this
    release's. Anything else raises `SnapshotRejected`."""
    if len(data) <= len(MAGIC) + SIG_BYTES or not data.startswith(MAGIC):
        raise _refused("not a Shopfloor snapshot", "不是 Shopfloor 快照文件")
    sig = data[len(MAGIC) : len(MAGIC) + SIG_BYTES]
    packed = data[len(MAGIC) + SIG_BYTES :]
    try:
        public_key_from_b64(public_key_b64).verify(sig, SIGNED_PREFIX + packed)
    except InvalidSignature:
        raise _refused(
            f"the snapshot's signature does not verify against {signer!r}'s key "
            "(forged or altered)",
            "快照签名无效（伪造或被篡改），未安装",
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, max_inflated)
    except zlib.error as exc:
        raise _refused(f"the snapshot does not inflate: {exc}", "快照无法解压") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise _refused("the snapshot inflates past the size limit", "快照解压后过大")
    try:
        body = json.loads(raw.decode("utf-8"))
        snap = _parse(body, hashlib.sha256(packed).hexdigest())
    except (ValueError, TypeError, KeyError) as exc:
        raise _refused(f"the snapshot is malformed: {exc}", "快照格式错误") from exc
    if snap.by != signer:
        raise _refused(f"the snapshot was made by {snap.by!r}, not {signer!r}", "快照来源不符")
    if snap.for_node != for_node:
        raise _refused(
            f"the snapshot is for {snap.for_node!r}, not {for_node!r}",
            f"该快照属于节点 {snap.for_node}，不是本节点",
        )
    mine = {t.name: [c.name for c in t.columns] for t in registry.tables()}
    theirs = {name: columns for name, (columns, _) in snap.tables.items()}
    if mine != theirs:
        raise _refused(
            "the snapshot's tables are not this release's (hub and node run different "
            "schemas): catch up op by op instead",
            "快照的数据表与本版本不一致，改为逐条同步",
        )
    return snap


def _parse(body: Any, digest: str) -> Snapshot:
    if not isinstance(body, dict) or body.get("f") != FORMAT:
        raise ValueError("unknown snapshot format")
    heads = {
        str(o): HeadAt(_int(h["seq"]), _text(h["chain"]), _int(h["hlc"]))
        for o, h in dict(body["heads"]).items()
    }
    links = {str(o): (_int(pair[0]), _text(pair[1])) for o, pair in dict(body["links"]).items()}
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for name, table in dict(body["tables"]).items():
        columns = [_text(c) for c in table["columns"]]
        rows = [list(r) for r in table["rows"]]
        if any(len(r) != len(columns) for r in rows):
            raise ValueError(f"a row of {name!r} does not match its columns")
        tables[str(name)] = (columns, rows)
    return Snapshot(
        by=_text(body["by"]),
        for_node=_text(body["for"]),
        taken_ms=_int(body["taken_ms"]),
        heads=heads,
        links=links,
        tables=tables,
        digest=digest,
    )


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value


def _refused(message: str, message_zh: str) -> SnapshotRejected:
    return SnapshotRejected(message, message_zh=message_zh)


# --- installing --------------------------------------------------------------------------


def install(store: ReplicaStore, snap: Snapshot, *, now_ms: int | None = None) -> Installed:
    """Start `store` from `snap` (verified by `read`), in one transaction: projections
    replaced, heads set, ops at or below them forgotten, floors and the snapshot
    recorded. Refused (`SnapshotRejected`, nothing changed) when `store` holds anything
    the snapshot's maker may lack."""
    at = now_ms if now_ms is not None else system_ms()
    h, o, po = schema.heads, schema.ops, schema.pending_ops
    registry = store.registry
    forgotten = 0
    with store._begin() as conn:
        _check_safe(conn, snap)
        for area in reversed(registry.areas):
            for table in reversed(area.tables):
                conn.execute(table.delete())
        rows = 0
        for table in registry.tables():
            columns, values = snap.tables[table.name]
            for i in range(0, len(values), INSERT_CHUNK):
                chunk = values[i : i + INSERT_CHUNK]
                values_of = [dict(zip(columns, row, strict=True)) for row in chunk]
                conn.execute(table.insert(), values_of)
                rows += len(chunk)
        floors = read_floors(conn)
        for origin, head in sorted(snap.heads.items()):
            upsert = insert_for(store.dialect, h).on_conflict_do_update(
                index_elements=["origin"],
                set_={"seq": head.seq, "chain": head.chain, "hlc": head.hlc},
            )
            conn.execute(
                upsert, {"origin": origin, "seq": head.seq, "chain": head.chain, "hlc": head.hlc}
            )
            gone = conn.execute(
                delete(o).where(and_(o.c.origin == origin, o.c.seq <= head.seq))
            ).rowcount
            forgotten += int(gone or 0)
            conn.execute(delete(po).where(and_(po.c.origin == origin, po.c.seq <= head.seq)))
            if origin not in floors or floors[origin].through < head.seq:
                floors[origin] = Floor(head.seq, head.chain)
        write_floors(conn, store.dialect, floors)
        record = canonical_json(
            {
                "digest": snap.digest,
                "by": snap.by,
                "taken_ms": snap.taken_ms,
                "installed_ms": at,
                "heads": {origin: head.seq for origin, head in sorted(snap.heads.items())},
            }
        ).decode("utf-8")
        meta = insert_for(store.dialect, schema.meta).on_conflict_do_update(
            index_elements=["key"], set_={"value": record}
        )
        conn.execute(meta, {"key": INSTALLED_KEY, "value": record})
        # The projections are whole again: a ledger that could not rebuild them is done.
        conn.execute(delete(schema.meta).where(schema.meta.c.key == NEEDS_SNAPSHOT_KEY))
    # Stamps continue above what the snapshot reflects (as after a restart).
    for origin, head in snap.heads.items():
        if origin == store.origin:
            store.clock.floor(head.hlc)
        elif not store.clock.is_too_far_ahead(head.hlc):
            store.clock.observe(head.hlc)
    return Installed(snap.digest, {x: hd.seq for x, hd in snap.heads.items()}, forgotten, rows)


def _check_safe(conn: Connection, snap: Snapshot) -> None:
    """The replica holds nothing the snapshot's maker lacks: for every origin it holds,
    its head is at or below the snapshot's, on the same history (equal chain links)."""
    if conn.execute(select(schema.blocked_origins.c.origin)).first() is not None:
        raise _refused(
            "an equivocation is waiting for a person to decide: no snapshot until then",
            "存在待人工处理的数据分叉，暂不安装快照",
        )
    h = schema.heads
    for row in conn.execute(select(h).where(h.c.seq > 0)):
        origin, seq, chain = str(row.origin), int(row.seq), str(row.chain)
        theirs = snap.heads.get(origin)
        if theirs is None or theirs.seq < seq:
            raise _refused(
                f"this replica holds {origin!r} up to seq {seq}, the snapshot only up to "
                f"{theirs.seq if theirs else 0}: installing it would lose ops the hub lacks",
                f"本节点有总部尚未收到的数据（{origin} 至 {seq}），不能用快照覆盖",
            )
        if theirs.seq == seq:
            same = chain == theirs.chain
        else:
            same = snap.links.get(origin) == (seq, chain)
        if not same:
            raise _refused(
                f"this replica's history of {origin!r} up to seq {seq} is not proven to be the "
                "snapshot's (different or missing chain link): not installed",
                f"无法证明本节点 {origin} 的记录与总部一致，不能用快照覆盖",
            )


def installed(store: ReplicaStore) -> dict[str, Any] | None:
    """The record of the snapshot this replica started from, if any."""
    raw = store.get_meta(INSTALLED_KEY)
    return None if raw is None else dict(json.loads(raw))
