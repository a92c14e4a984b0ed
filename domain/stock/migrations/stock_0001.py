"""Stock projection: stock_levels.

Revision ID: stock_0001
Revises:
Create Date: 2026-12-02

The table used to be made by the replica store's own first revision; a database from
that release still has it. A projection is derived from the ops, so it is dropped and
made anew here, and the store rebuilds it from the ops after migrating.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "stock_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("stock",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS stock_levels")
    op.create_table(
        "stock_levels",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("qty", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stock_levels")
