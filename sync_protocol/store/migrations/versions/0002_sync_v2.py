"""Sync v2: a hash chain per origin (ops.chain, heads.chain), each origin's last stamp
(heads.hlc), origins blocked for equivocation, and aggregated incidents.

Revision ID: 0002_sync_v2
Revises: 0001_replica_store
Create Date: 2026-12-03

The chain of the ops already held is computed here, origin by origin in seq order, and
each head's stamp is the highest stamp of its origin's ops, so a store upgraded in the
field compares and stamps like a new one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sync_v2"
down_revision: str | Sequence[str] | None = "0001_replica_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)
CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table("ops") as ops:
        ops.add_column(sa.Column("chain", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("heads") as heads:
        heads.add_column(sa.Column("chain", sa.String(64), nullable=False, server_default=""))
        heads.add_column(sa.Column("hlc", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "blocked_origins",
        sa.Column("origin", ID, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("sync_incidents") as incidents:
        incidents.add_column(sa.Column("kind", ID, nullable=False, server_default=""))
        incidents.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        incidents.add_column(sa.Column("last_ms", sa.BigInteger(), nullable=True))
    op.create_index("ix_sync_incidents_kind", "sync_incidents", ["kind", "peer"])
    _chain_existing_ops()


def _chain_existing_ops() -> None:
    conn = op.get_bind()
    origins = [r[0] for r in conn.execute(sa.text("SELECT origin FROM heads"))]
    for origin in origins:
        chain, last_seq, top_hlc = "", 0, 0
        while True:
            rows = conn.execute(
                sa.text(
                    "SELECT seq, hlc, kind, v, actor, body, sig FROM ops "
                    "WHERE origin = :o AND seq > :s "
                    "ORDER BY seq LIMIT :n"
                ),
                {"o": origin, "s": last_seq, "n": CHUNK},
            ).all()
            if not rows:
                break
            updates = []
            for seq, hlc, kind, v, actor, body, sig in rows:
                envelope = {
                    "f": 1,
                    "origin": origin,
                    "seq": int(seq),
                    "hlc": int(hlc),
                    "kind": kind,
                    "v": int(v),
                    "actor": actor,
                    "body": json.loads(body),
                }
                digest = hashlib.sha256(_canonical(envelope) + base64.b64decode(sig)).hexdigest()
                chain = hashlib.sha256(f"{chain}{digest}".encode("ascii")).hexdigest()
                updates.append({"o": origin, "s": int(seq), "c": chain})
                top_hlc = max(top_hlc, int(hlc))
                last_seq = int(seq)
            conn.execute(
                sa.text("UPDATE ops SET chain = :c WHERE origin = :o AND seq = :s"), updates
            )
        conn.execute(
            sa.text("UPDATE heads SET chain = :c, hlc = :h WHERE origin = :o"),
            {"o": origin, "c": chain, "h": top_hlc},
        )


def _canonical(value: object) -> bytes:
    """The ops' canonical JSON, as signed (sync_protocol.ops.canonical_json), frozen here."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def downgrade() -> None:
    """Development databases only: production replicas only ever move forward."""
    op.drop_index("ix_sync_incidents_kind", table_name="sync_incidents")
    with op.batch_alter_table("sync_incidents") as incidents:
        incidents.drop_column("last_ms")
        incidents.drop_column("count")
        incidents.drop_column("kind")
    op.drop_table("blocked_origins")
    with op.batch_alter_table("heads") as heads:
        heads.drop_column("hlc")
        heads.drop_column("chain")
    with op.batch_alter_table("ops") as ops:
        ops.drop_column("chain")
