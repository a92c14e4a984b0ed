"""The replica store's own tables: ops, heads, held ops, peers, incidents, keys, meta.
The business areas' projection tables are declared by the areas (registry).
Replicated tables carry no unique constraint beyond their key, so any order of arrival
can be stored (DESIGN §4, schema evolution)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

ID = String(64)

ops = Table(
    "ops",
    metadata,
    Column("origin", ID, primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hlc", BigInteger, nullable=False),
    Column("kind", ID, nullable=False),
    Column("v", Integer, nullable=False),
    Column("actor", ID, nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON, exactly as signed
    Column("sig", String(128), nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    # sha256(chain of seq-1 + sig), hex: the origin's history up to here in one value,
    # so two replicas compare what they hold of an origin with one lookup (anti-entropy).
    Column("chain", String(64), nullable=False, server_default=""),
)
Index("ix_ops_kind_hlc", ops.c.kind, ops.c.hlc)

# Highest contiguous seq per origin: the version vector; with the chain at that seq
# and the highest stamp of the origin's ops (every writer stamps above it).
heads = Table(
    "heads",
    metadata,
    Column("origin", ID, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("chain", String(64), nullable=False, server_default=""),
    Column("hlc", BigInteger, nullable=False, server_default="0"),
)

# Origins found with two different ops under one seq (equivocation): nothing more of
# theirs is applied, nor written when it is this replica's own, until a person decides.
blocked_origins = Table(
    "blocked_origins",
    metadata,
    Column("origin", ID, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=True),
    Column("at_ms", BigInteger, nullable=False),
)

# Ops that arrived ahead of a gap: held, never applied out of order, never dropped.
# `link_before` is the origin's chain link just before the op, as the page that brought
# it said (None: not known): when the gap fills, the history it fills with must end
# there, or the held op would be joined onto another history unseen.
pending_ops = Table(
    "pending_ops",
    metadata,
    Column("origin", ID, primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("wire", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("link_before", String(64), nullable=True),
)

# What each peer has told us it holds (its acks and hellos).
peers = Table(
    "peers",
    metadata,
    Column("peer", ID, primary_key=True),
    Column("vv", Text, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=True),
    Column("last_ack_ms", BigInteger, nullable=True),
    Column("connected", Boolean, nullable=False, default=False),
)

# Everything refused or flagged, with the reason: bad input leaves a record. The same
# kind of incident from the same source is one row with a count (first at `at_ms`,
# latest at `last_ms`), so a flood cannot fill the disk.
sync_incidents = Table(
    "sync_incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", ID, nullable=False, server_default=""),
    Column("count", Integer, nullable=False, server_default="1"),
    Column("last_ms", BigInteger, nullable=True),
    Column("peer", ID, nullable=True),
    Column("origin", ID, nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("disposition", String(16), nullable=False),  # rejected | quarantined | ignored
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=True),
)
Index("ix_sync_incidents_kind", sync_incidents.c.kind, sync_incidents.c.peer)

# Public keys allowed to author ops.
keyring = Table(
    "keyring",
    metadata,
    Column("origin", ID, primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("label", Text, nullable=True),
    Column("enrolled_ms", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", ID, primary_key=True),
    Column("value", Text, nullable=False),
)
