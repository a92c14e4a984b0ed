"""Schema migrations of the replica store: Alembic, driven from code.

Every store brings its database to the newest revisions when it opens
(`ReplicaStore.__init__` calls `upgrade_to_head`), on the edge's SQLite and on the
hub's SQLite or PostgreSQL alike. No alembic.ini is read: `alembic_config` points
Alembic at the `migrations/` directory shipped beside this module (the `core` branch:
the store's own tables) plus one folder of revisions per registered area, each its own
branch (`areas`); `upgrade_to_head` brings every branch to its head.

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

The command line (`main`) is run with the areas by `python -m domain.migrations`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError

from sync_protocol.errors import ConfigurationError, ShopfloorError
from sync_protocol.store import schema
from sync_protocol.store.dialect import insert_for, make_engines

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (~10 MiB resident) is imported only when a database has to be migrated or
# inspected: a node opening a ledger this release already migrated never loads it
# (a till's Pi has 150 MiB for the node, the device agent and Mosquitto together).

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001_replica_store"
# The `meta` row naming the revision files a database was last brought to head with.
RELEASE_KEY = "schema_release"
CORE_BRANCH = "core"
VERSION_TABLE = "alembic_version"  # Alembic's default name

# The tables INITIAL_REVISION creates: what a pre-migration `create_all` database holds
# (it held the first areas' projections too; their own branches make those anew).
# Frozen on purpose; tables added later come from later revisions, not from here.
INITIAL_TABLES = frozenset(
    {"ops", "heads", "pending_ops", "peers", "sync_incidents", "keyring", "meta"}
)

# One 64-bit key for "replica store schema migration", the same in every process.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"shopfloor.replica_store.migrate").digest()[:8], "big", signed=True
)

_in_process = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade_to_head` did: the heads the database is at now, and the folders
    of revisions whose branch moved (an area whose projection must be rebuilt)."""

    heads: tuple[str, ...]
    moved: frozenset[Path]


def alembic_config(
    connection: Connection | None = None,
    *,
    location: Path = MIGRATIONS,
    areas: Sequence[Path] = (),
    target_metadata: Sequence[MetaData] = (),
) -> Config:
    """An Alembic config built in code; `connection` is what env.py migrates. The
    revisions are the core's (`location/versions`) and each area folder's."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _escaped(location))
    config.set_main_option("path_separator", "os")
    folders = [location / "versions", *areas]
    config.set_main_option("version_locations", os.pathsep.join(_escaped(f) for f in folders))
    config.set_main_option("file_template", "%%(rev)s")  # file name = revision id
    config.attributes["target_metadata"] = list(target_metadata)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions(location: Path = MIGRATIONS, areas: Sequence[Path] = ()) -> tuple[str, ...]:
    """The newest revision of each branch this code knows, sorted."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(location=location, areas=areas))
    heads = tuple(sorted(script.get_heads()))
    if not heads:
        raise ConfigurationError(f"no migrations found in {location}")
    return heads


def head_revision(location: Path = MIGRATIONS) -> str:
    """The newest revision of the core branch (the store's own tables)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(location=location))
    head = script.get_current_head()
    if head is None:
        raise ConfigurationError(f"no migrations found in {location}")
    return head


def current_heads(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at, sorted; empty if it was never migrated
    (empty, or made by `create_all` before migrations existed)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def upgrade_to_head(
    engine: Engine,
    *,
    location: Path = MIGRATIONS,
    areas: Sequence[Path] = (),
    target_metadata: Sequence[MetaData] = (),
) -> Upgrade:
    """Bring every branch of the database to its newest revision. Safe to call from
    many processes at once, and a no-op when the database is already there; one
    transaction, so a failing revision leaves the database as it was. On SQLite pass
    the write engine of `dialect.make_engines` (BEGIN IMMEDIATE). `location` is for
    tests; `areas` are the folders of the registered areas' revisions.

    A database this very set of revision files already brought to head (its `meta`
    row `RELEASE_KEY` says so) is left alone without loading Alembic at all."""
    release = release_fingerprint(location, areas)
    done = _heads_if_released(engine, release)
    if done is not None:
        return Upgrade(done, frozenset())
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with _in_process, engine.connect() as conn, _database_lock(conn), conn.begin():
        config = alembic_config(
            conn, location=location, areas=areas, target_metadata=target_metadata
        )
        _stamp_if_made_by_create_all(conn, config)
        newer = _revisions_newer_than_this_release(conn, location, areas)
        if newer:
            return Upgrade(tuple(newer.split(", ")), frozenset())
        before = set(MigrationContext.configure(conn).get_current_heads())
        command.upgrade(config, "heads")
        after = set(MigrationContext.configure(conn).get_current_heads())
        if after:
            _note_release(conn, release)
    if not after:
        raise ConfigurationError(f"no migrations found in {location}")
    script = ScriptDirectory.from_config(config)
    moved: set[Path] = set()
    for rev in after - before:
        revision = script.get_revision(rev)
        if revision is not None and revision.path:
            moved.add(Path(revision.path).parent)
    return Upgrade(tuple(sorted(after)), frozenset(moved))


def release_fingerprint(location: Path = MIGRATIONS, areas: Sequence[Path] = ()) -> str:
    """A digest of every revision file this code carries (names and contents): equal
    fingerprints mean the same revisions, so the same heads."""
    digest = hashlib.sha256()
    for folder in (location / "versions", *areas):
        for path in sorted(folder.glob("*.py")):
            digest.update(f"{folder.name}/{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _heads_if_released(engine: Engine, release: str) -> tuple[str, ...] | None:
    """The database's heads when it was last brought to head by exactly these
    revisions; None when it must go through Alembic (new, older, newer, made by
    `create_all`, or mid-migration in another process: that one's lock is waited on
    there)."""
    try:
        with engine.connect() as conn:
            noted = conn.execute(
                text("SELECT value FROM meta WHERE key = :key"), {"key": RELEASE_KEY}
            ).scalar()
            if noted != release:
                return None
            heads = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            return tuple(sorted(str(h) for h in heads)) or None
    except DBAPIError:  # no meta or version table yet: a new database
        return None


def _note_release(conn: Connection, release: str) -> None:
    stmt = insert_for(conn.dialect.name, schema.meta).values(key=RELEASE_KEY, value=release)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": release}))


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
    from alembic import command

    command.stamp(config, INITIAL_REVISION)


def _revisions_newer_than_this_release(
    conn: Connection, location: Path, areas: Sequence[Path]
) -> str | None:
    """A database already migrated by a newer release is left as it is: revisions only
    add (docs/migrations.md), so this release still reads and writes it, as it must
    while a rolling upgrade or a rollback has both releases running. Anything else at
    an unknown revision is not a replica store, and is refused."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    folders = (location / "versions", *areas)
    known = _known_revisions(location, tuple((f, f.stat().st_mtime_ns) for f in folders))
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
def _known_revisions(location: Path, folders: tuple[tuple[Path, int], ...]) -> frozenset[str]:
    """Cached per state of the folders (a folder's mtime changes with every file)."""
    from alembic.script import ScriptDirectory

    areas = [folder for folder, _ in folders[1:]]
    script = ScriptDirectory.from_config(alembic_config(location=location, areas=areas))
    return frozenset(s.revision for s in script.walk_revisions())


# --- making a new revision --------------------------------------------------------------


def new_revision(
    message: str,
    *,
    autogenerate: bool = True,
    location: Path = MIGRATIONS,
    branch: str = CORE_BRANCH,
    areas: Sequence[Path] = (),
    target_metadata: Sequence[MetaData] = (),
) -> Path:
    """Write the next revision of `branch` and return its path: `NNNN_slug.py` for the
    core, `<branch>_NNNN_slug.py` in the area's folder (one of `areas`, named after
    the branch's area) for an area; an area's first revision starts its branch.

    With `autogenerate`, its body is the difference between the metadata (the core's
    `schema.metadata` and `target_metadata`) and a scratch in-memory SQLite database
    upgraded to every head, rendered as batch operations (which run on SQLite and
    PostgreSQL alike). Review it before committing.
    """
    from alembic import command
    from alembic.script import Script, ScriptDirectory
    from alembic.script.revision import RevisionError

    script_dir = ScriptDirectory.from_config(alembic_config(location=location, areas=areas))
    if branch == CORE_BRANCH:
        folder = location / "versions"
    else:
        named = [f for f in areas if f.parent.name == branch]
        if not named:
            raise ConfigurationError(f"no migrations folder for the area {branch!r}")
        folder = named[0]
    try:
        head = script_dir.revision_map.get_current_head(branch)
    except RevisionError:  # no revision carries the label yet: the area's first
        head = None
    number = re.search(r"(\d+)", head.removeprefix(f"{branch}_")) if head else None
    if head is not None and number is None:
        raise ConfigurationError(f"head revision {head!r} carries no number")
    nxt = int(number.group(1)) + 1 if number else 1
    slug = re.sub(r"[^0-9a-z]+", "_", message.lower()).strip("_")[:40] or "migration"
    rev_id = f"{nxt:04d}_{slug}" if branch == CORE_BRANCH else f"{branch}_{nxt:04d}_{slug}"
    engine, _ = make_engines("sqlite://", durable=False)
    try:
        with _in_process, engine.connect() as conn, conn.begin():
            config = alembic_config(
                conn, location=location, areas=areas, target_metadata=target_metadata
            )
            command.upgrade(config, "heads")
            _format_with_ruff(config)
            script = command.revision(
                config,
                message=message,
                autogenerate=autogenerate,
                rev_id=rev_id,
                head=f"{branch}@head" if head else "base",
                branch_label=None if head else branch,
                version_path=str(folder),
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


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "python -m domain.migrations",
    areas: Sequence[Path] = (),
    target_metadata: Sequence[MetaData] = (),
) -> int:
    """`current|upgrade URL`, `revision -m MSG [--area NAME] [--empty]`, over the core
    branch and the given areas' branches."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Schema migrations of the replica store (Alembic)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (
        ("current", "print the database's revisions, or 'none'"),
        ("upgrade", "bring every branch of the database to its newest revision"),
    ):
        sub.add_parser(name, help=what).add_argument("url", help="SQLAlchemy database URL")
    rev = sub.add_parser("revision", help="write the next revision file, autogenerated")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--area", default=CORE_BRANCH, help="the branch: core or an area's name")
    rev.add_argument("--empty", action="store_true", help="do not autogenerate the body")
    args = parser.parse_args(argv)
    try:
        if args.command == "revision":
            path = new_revision(
                args.message,
                autogenerate=not args.empty,
                branch=args.area,
                areas=areas,
                target_metadata=target_metadata,
            )
            print(path)
            return 0
        engine, read = make_engines(args.url)
        try:
            if args.command == "current":
                print(" ".join(current_heads(read)) or "none")
            else:
                done = upgrade_to_head(engine, areas=areas, target_metadata=target_metadata)
                print(" ".join(done.heads))
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
