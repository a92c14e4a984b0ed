"""Catalog projection: catalog_fields.

Revision ID: catalog_0001
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

revision: str = "catalog_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("catalog",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS catalog_fields")
    op.create_table(
        "catalog_fields",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_fields")
