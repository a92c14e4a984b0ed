"""Members projection: member_fields, member_enrolments, member_points,
member_allowance_moves, member_allowance_asks, member_rules.

Revision ID: members_0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "members_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("members",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_fields",
        sa.Column("phone", sa.String(16), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
    )
    op.create_table(
        "member_enrolments",
        sa.Column("phone", sa.String(16), primary_key=True),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
    )
    op.create_table(
        "member_points",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("entry", sa.String(16), primary_key=True),
        sa.Column("ref", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("sale_id", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("fen", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_member_points_phone_hlc", "member_points", ["phone", "hlc"])
    op.create_table(
        "member_allowance_moves",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("to_holder", sa.String(64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("answers_origin", sa.String(64), nullable=True),
        sa.Column("answers_seq", sa.BigInteger(), nullable=True),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_member_allowance_moves_phone", "member_allowance_moves", ["phone"])
    op.create_table(
        "member_allowance_asks",
        sa.Column("origin", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("of_holder", sa.String(64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_member_allowance_asks_of", "member_allowance_asks", ["of_holder"])
    op.create_table(
        "member_rules",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("hlc", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_rules")
    op.drop_index("ix_member_allowance_asks_of", table_name="member_allowance_asks")
    op.drop_table("member_allowance_asks")
    op.drop_index("ix_member_allowance_moves_phone", table_name="member_allowance_moves")
    op.drop_table("member_allowance_moves")
    op.drop_index("ix_member_points_phone_hlc", table_name="member_points")
    op.drop_table("member_points")
    op.drop_table("member_enrolments")
    op.drop_table("member_fields")
