"""Staff projection: staff_fields, staff_pin_failures, staff_resets.

Revision ID: staff_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "staff_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("staff",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_fields",
        sa.Column("staff_id", sa.String(32), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
    )
    op.create_table(
        "staff_pin_failures",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("staff_id", sa.String(32), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_staff_pin_failures_staff_hlc", "staff_pin_failures", ["staff_id", "hlc"])
    op.create_table(
        "staff_resets",
        sa.Column("staff_id", sa.String(32), primary_key=True),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_resets")
    op.drop_index("ix_staff_pin_failures_staff_hlc", table_name="staff_pin_failures")
    op.drop_table("staff_pin_failures")
    op.drop_table("staff_fields")
