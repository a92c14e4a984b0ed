"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Rules (docs/migrations.md): add tables, columns and indexes; never rename or drop a
replicated field; a new column is nullable or has a server default. On SQLite every
ALTER goes through `with op.batch_alter_table(...)`. Projections may be cleared and
rebuilt from ops instead of migrated.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Development databases only: production replicas only ever move forward."""
    ${downgrades if downgrades else "pass"}
