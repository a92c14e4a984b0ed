"""Sales projection: sales, keyed by (origin, sale_id).

Revision ID: sales_0001
Revises:
Create Date: 2026-12-02

The replica store's first revision made `sales` keyed by sale_id alone, so two nodes
that used the same id kept only one sale. A projection is derived from the ops, so the
table is dropped and made anew with the origin in its key, and the store rebuilds it
from the ops after migrating: both sales come back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sales_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("sales",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sales")
    op.create_table(
        "sales",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("sale_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("payment", sa.String(64), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_sales_location", "sales", ["location"])


def downgrade() -> None:
    op.drop_table("sales")
