"""Alembic environment of the replica store, run by sync_protocol.store.migrate.

There is no alembic.ini and no URL here: the caller opens the connection, starts the
transaction (and, on PostgreSQL, holds the advisory lock) and hands the connection over
in ``config.attributes["connection"]``. Alembic sees a transaction already begun and
leaves commit to the caller, so stamping and upgrading commit together or not at all.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sync_protocol.errors import ConfigurationError
from sync_protocol.store import schema


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # The core's tables and every registered area's (passed by migrate.py).
        target_metadata=[schema.metadata, *context.config.attributes.get("target_metadata", [])],
        # Batch mode lets SQLite alter a table (copy, swap); on PostgreSQL the same
        # batch ops run as plain ALTERs, so one rendering serves both backends.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise ConfigurationError(
        "replica store migrations run through sync_protocol.store.migrate "
        "(upgrade_to_head(engine)), which passes an open connection",
        message_zh="副本库的迁移请通过 sync_protocol.store.migrate 运行（upgrade_to_head）",
    )
run_migrations(connection)
