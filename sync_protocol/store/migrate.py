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
its rows are kept. A database a newer release already migrated is used as it is
(revisions only add). See docs/migrations.md for how to add a revision.

    python -m sync_protocol.store.migrations current  URL
    python -m sync_protocol.store.migrations upgrade  URL
    python -m sync_protocol.store.migrations revision -m "add peers.region" [--empty]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import logging
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
from sqlalchemy.exc import OperationalError

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
log = logging.getLogger(__name__)


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


def upgrade_to_head(engine: Engine, *, location: Path = MIGRATIONS) -> str:
    """Bring the database to the newest revision and return it. Safe to call from many
    processes at once, and a no-op when the database is already there; one transaction,
    so a failing revision leaves the database as it was. On SQLite pass the write
    engine of `dialect.make_engines` (BEGIN IMMEDIATE). `location` is for tests."""
    with _in_process, engine.connect() as conn, _database_lock(conn), conn.begin():
        config = alembic_config(conn, location=location)
        _stamp_if_made_by_create_all(conn, config)
        newer = _revisions_newer_than_this_release(conn, location)
        if newer:
            return newer
        command.upgrade(config, "head")
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        raise ConfigurationError(f"no migrations found in {location}")
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
    except BaseException:
        conn.invalidate()  # ending the session releases the lock, whatever state it is in
        raise
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
            message_zh=(
                f"数据库缺少副本表 {sorted(missing)} 且无迁移版本记录：请从备份恢复或使用空数据库"
            ),
        )
    command.stamp(config, INITIAL_REVISION)


def _revisions_newer_than_this_release(conn: Connection, location: Path) -> str | None:
    """A database already migrated by a newer release is left as it is: revisions only
    add (docs/migrations.md), so this release still reads and writes it, as it must
    while a rolling upgrade or a rollback has both releases running. Anything else at
    an unknown revision is not a replica store, and is refused."""
    heads = MigrationContext.configure(conn).get_current_heads()
    known = _known_revisions(location, (location / "versions").stat().st_mtime_ns)
    unknown = sorted(set(heads) - known)
    if not unknown:
        return None
    revision = ", ".join(unknown)
    missing = INITIAL_TABLES - set(inspect(conn).get_table_names())
    if missing:
        raise ConfigurationError(
            f"the database is at revision {revision}, unknown to Shopfloor, and lacks the "
            f"replica tables {sorted(missing)}: it is not a replica store; check the URL",
            message_zh=f"数据库版本 {revision} 未知且缺少副本表：这不是副本库，请检查数据库地址",
        )
    log.warning(
        "database is at revision %s, newer than this release knows (%s): "
        "using it as it is, without migrating",
        revision,
        ", ".join(sorted(known)),
    )
    return revision


@functools.cache
def _known_revisions(location: Path, _version: int) -> frozenset[str]:
    """Cached per state of the versions directory (its mtime changes with every file)."""
    script = ScriptDirectory.from_config(alembic_config(location=location))
    return frozenset(s.revision for s in script.walk_revisions())


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
            _format_with_ruff(config)
            script = command.revision(
                config, message=message, autogenerate=autogenerate, rev_id=rev_id
            )
    finally:
        engine.dispose()
    if not isinstance(script, Script):
        raise ConfigurationError(f"alembic made no single revision for {message!r}")
    return Path(script.path)


def _format_with_ruff(config: Config) -> None:
    """Post-write hooks: the new file comes out ruff-clean when ruff is installed."""
    if importlib.util.find_spec("ruff") is None:
        return
    hooks = {"ruff_fix": "check --fix --quiet", "ruff_format": "format --quiet"}
    config.set_section_option("post_write_hooks", "hooks", " ".join(hooks))
    for name, options in hooks.items():
        config.set_section_option("post_write_hooks", f"{name}.type", "module")
        config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
        )


def _escaped(path: Path) -> str:
    return str(path).replace("%", "%%")  # Config values are interpolated


# --- command line -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sync_protocol.store.migrations",
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
    except OperationalError as exc:
        print(f"error: cannot use the database: {exc.orig}", file=sys.stderr)
        return 2
    return 0
