"""The replica store as first released: ops, heads, pending ops, peers, incidents,
keyring and meta (the branch labelled `core`).

The first release also made the business projections here (stock_levels,
catalog_fields, sales). They now belong to their domain areas, each with its own
branch of revisions (`domain/<area>/migrations/`), whose first revision drops a table
of that name left by this revision and makes it anew, and the store rebuilds it from
the ops (docs/migrations.md).

Revision ID: 0001_replica_store
Revises:
Create Date: 2026-11-25

Written by hand to match sync_protocol/store/schema.py table for table; databases made
by `create_all` before migrations existed are stamped at this revision, not recreated
(sync_protocol.store.migrate). tests/sync/test_migrations.py proves the match.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_replica_store"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "ops",
        sa.Column("origin", ID, primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("kind", ID, nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sig", sa.String(128), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_ops_kind_hlc", "ops", ["kind", "hlc"])
    op.create_table(
        "heads",
        sa.Column("origin", ID, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pending_ops",
        sa.Column("origin", ID, primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("wire", sa.Text(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "peers",
        sa.Column("peer", ID, primary_key=True),
        sa.Column("vv", sa.Text(), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_ack_ms", sa.BigInteger(), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "sync_incidents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("peer", ID, nullable=True),
        sa.Column("origin", ID, nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
    )
    op.create_table(
        "keyring",
        sa.Column("origin", ID, primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("enrolled_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", ID, primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Development databases only: production replicas only ever move forward."""
    for table in (
        "meta",
        "keyring",
        "sync_incidents",
        "peers",
        "pending_ops",
        "heads",
    ):
        op.drop_table(table)
    op.drop_index("ix_ops_kind_hlc", table_name="ops")
    op.drop_table("ops")
