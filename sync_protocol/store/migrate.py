"""Schema migrations of the replica store: Alembic, driven from code.

Every store brings its database to the newest revision when it opens
(`ReplicaStore.__init__` calls `upgrade_to_head`), on the edge's SQLite and on the
hub's SQLite or PostgreSQL alike. No alembic.ini is read: `alembic_config` points
Alembic at the `migrations/` directory shipped beside this module.

The whole upgrade is one transaction, and only one process does it at a time:

- PostgreSQL: a session advisory lock (`pg_advisory_lock(MIGRATION_LOCK_KEY)`) is held
  around the transaction, so hub workers starting together queue; the later ones find
  the database at head and do nothing. DDL is transactional there, so a failed
  migration leaves nothing behind.
- SQLite: pass the *write* engine of `dialect.make_engines`, whose transactions begin
  with BEGIN IMMEDIATE: the check, the DDL and the version row are written under the
  database's write lock; other processes wait on the busy timeout.
- Within a process, a lock: Alembic's `context` and `op` are module-level proxies, so
  two threads must not run migrations at the same time.

A database made by `metadata.create_all` before migrations existed (its tables are
present, `alembic_version` is not) is stamped at `INITIAL_REVISION`, then upgraded;
its rows are kept. See docs/migrations.md for how to add a revision.

    python -m sync_protocol.store.migrate current  URL
    python -m sync_protocol.store.migrate upgrade  URL
    python -m sync_protocol.store.migrate revision -m "add peers.region" [--empty]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from sync_protocol.errors import ConfigurationError, ShopfloorError
from sync_protocol.store.dialect import make_engines

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001_replica_store"
VERSION_TABLE = "alembic_version"  # Alembic's default name

# The tables INITIAL_REVISION creates: what a pre-migration `create_all` database holds.
# Frozen on purpose; tables added later come from later revisions, not from here.
INITIAL_TABLES = frozenset(
    {
        "ops",
        "heads",
        "pending_ops",
        "peers",
        "sync_incidents",
        "keyring",
        "meta",
        "stock_levels",
        "catalog_fields",
        "sales",
    }
)

# One 64-bit key for "replica store schema migration", the same in every process.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"shopfloor.replica_store.migrate").digest()[:8], "big", signed=True
)

_in_process = threading.Lock()


def alembic_config(connection: Connection | None = None, *, location: Path = MIGRATIONS) -> Config:
    """An Alembic config built in code; `connection` is what env.py migrates."""
    config = Config()
    config.set_main_option("script_location", _escaped(location))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s")  # file name = revision id
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(location: Path = MIGRATIONS) -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config(location=location)).get_current_head()
    if head is None:
        raise ConfigurationError(f"no migrations found in {location}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None if it was never migrated (empty, or made
    by `create_all` before migrations existed)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Bring the database to the newest revision and return it. Safe to call from many
    processes at once, and a no-op when the database is already there. On SQLite pass
    the write engine of `dialect.make_engines` (BEGIN IMMEDIATE)."""
    with _in_process, engine.connect() as conn, _database_lock(conn), conn.begin():
        config = alembic_config(conn)
        _stamp_if_made_by_create_all(conn, config)
        _refuse_unknown_revisions(conn, config)
        command.upgrade(config, "head")
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        raise ConfigurationError(f"no migrations found in {MIGRATIONS}")
    return current


@contextmanager
def _database_lock(conn: Connection) -> Iterator[None]:
    """PostgreSQL: hold the advisory lock around the migration transaction. SQLite needs
    nothing here: the transaction itself begins with BEGIN IMMEDIATE."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    conn.commit()  # the lock is the session's: it outlives this short transaction
    try:
        yield
    finally:
        if conn.in_transaction():  # the migration failed and was not rolled back yet
            conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()


def _stamp_if_made_by_create_all(conn: Connection, config: Config) -> None:
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE in tables:
        return
    present = tables & INITIAL_TABLES
    if not present:
        return  # an empty database: the upgrade creates everything
    missing = INITIAL_TABLES - present
    if missing:
        raise ConfigurationError(
            f"the database holds some replica tables but not {sorted(missing)} and has no "
            f"{VERSION_TABLE}: it was neither made by this software nor migrated; restore "
            "it from a backup or point the store at an empty database",
            message_zh=f"数据库缺少副本表 {sorted(missing)} 且无迁移版本记录：请从备份恢复或使用空数据库",
        )
    command.stamp(config, INITIAL_REVISION)


def _refuse_unknown_revisions(conn: Connection, config: Config) -> None:
    """A database migrated by a newer release cannot be run by this one."""
    known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = sorted(set(MigrationContext.configure(conn).get_current_heads()) - known)
    if unknown:
        raise ConfigurationError(
            f"the database is at revision {', '.join(unknown)}, which this release does not "
            "know: it was migrated by a newer Shopfloor; run that release (or newer)",
            message_zh=f"数据库的迁移版本 {', '.join(unknown)} 比本程序新：请使用更新版本的 Shopfloor",
        )


# --- making a new revision --------------------------------------------------------------


def new_revision(message: str, *, autogenerate: bool = True, location: Path = MIGRATIONS) -> Path:
    """Write the next revision file (`NNNN_slug.py`) and return its path.

    With `autogenerate`, its body is the difference between `schema.metadata` and a
    scratch in-memory SQLite database upgraded to the current head, rendered as batch
    operations (which run on SQLite and PostgreSQL alike). Review it before committing.
    """
    head = head_revision(location)
    number = re.match(r"\d+", head)
    if number is None:
        raise ConfigurationError(f"head revision {head!r} does not start with a number")
    slug = re.sub(r"[^0-9a-z]+", "_", message.lower()).strip("_")[:40] or "migration"
    rev_id = f"{int(number.group()) + 1:04d}_{slug}"
    engine, _ = make_engines("sqlite://", durable=False)
    try:
        with _in_process, engine.connect() as conn, conn.begin():
            config = alembic_config(conn, location=location)
            command.upgrade(config, "head")
            script = command.revision(
                config, message=message, autogenerate=autogenerate, rev_id=rev_id
            )
    finally:
        engine.dispose()
    if not isinstance(script, Script):
        raise ConfigurationError(f"alembic made no single revision for {message!r}")
    return Path(script.path)


def _escaped(path: Path) -> str:
    return str(path).replace("%", "%%")  # Config values are interpolated


# --- command line -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sync_protocol.store.migrate",
        description="Schema migrations of the replica store (Alembic).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (
        ("current", "print the database's revision, or 'none'"),
        ("upgrade", "bring the database to the newest revision"),
    ):
        sub.add_parser(name, help=what).add_argument("url", help="SQLAlchemy database URL")
    rev = sub.add_parser("revision", help="write the next revision file, autogenerated")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--empty", action="store_true", help="do not autogenerate the body")
    args = parser.parse_args(argv)
    try:
        if args.command == "revision":
            print(new_revision(args.message, autogenerate=not args.empty))
            return 0
        engine, read = make_engines(args.url)
        try:
            if args.command == "current":
                print(current_revision(read) or "none")
            else:
                print(upgrade_to_head(engine))
        finally:
            engine.dispose()
            read.dispose()
    except ShopfloorError as exc:
        print(f"error: {exc.message}\n错误：{exc.message_zh}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
