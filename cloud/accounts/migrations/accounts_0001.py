"""HQ accounts: hub_users, hub_sessions, api_tokens.

Revision ID: accounts_0001
Revises:
Create Date: 2026-12-03

Hub-only: the hub's store registers the `accounts` area (cloud/schema.py's
HUB_REGISTRY), a node's ledger never does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "accounts_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("accounts",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("password_changed_ms", sa.BigInteger(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("retry_at_ms", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "hub_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("idle_until_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_hub_sessions_user_id", "hub_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_used_ms", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_index("ix_hub_sessions_user_id", table_name="hub_sessions")
    op.drop_table("hub_sessions")
    op.drop_table("hub_users")
