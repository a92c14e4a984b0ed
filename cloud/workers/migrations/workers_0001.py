"""Hub workers: session_leases (which worker runs each node's sync session, until when).

Revision ID: workers_0001
Revises:
Create Date: 2026-12-03

Hub-only: the hub's store registers the `workers` area (cloud/hub.py), a node's ledger
never does, so no node gets this table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "workers_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("workers",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_leases",
        sa.Column("node", sa.String(64), primary_key=True),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("taken_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_session_leases_worker", "session_leases", ["worker"])


def downgrade() -> None:
    op.drop_index("ix_session_leases_worker", table_name="session_leases")
    op.drop_table("session_leases")
