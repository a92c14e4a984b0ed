"""Held links: an op held past a gap keeps the chain link its page said came before it
(`pending_ops.link_before`), so the history that later fills the gap is checked against
it instead of being joined in silence.

Revision ID: 0003_held_links
Revises: 0002_sync_v2
Create Date: 2026-12-03

Ops already held when a store is upgraded have no link (NULL: not known); they are
checked as before, op by op under their seq.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_held_links"
down_revision: str | Sequence[str] | None = "0002_sync_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pending_ops") as pending:
        pending.add_column(sa.Column("link_before", sa.String(64), nullable=True))


def downgrade() -> None:
    """Development databases only: production replicas only ever move forward."""
    with op.batch_alter_table("pending_ops") as pending:
        pending.drop_column("link_before")
