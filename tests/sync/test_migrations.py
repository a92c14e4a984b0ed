"""Schema migrations of the replica store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text

from sync_protocol.errors import ConfigurationError
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore, migrate, schema
from sync_protocol.store.dialect import make_engines
from tests.support import postgres
from tests.sync.replicas import receive

REPO = Path(__file__).resolve().parents[2]
HEAD = migrate.head_revision()


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    """The write engine a ReplicaStore would use (BEGIN IMMEDIATE on SQLite files)."""
    write, read = make_engines(url)
    try:
        yield write
    finally:
        write.dispose()
        read.dispose()


@pytest.fixture
def second_db_url(hub_db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend as `hub_db_url`."""
    if hub_db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/second.db"
        return
    with postgres.throwaway_database() as url:
        yield url


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))


def structure(engine: Engine) -> dict[str, Any]:
    """What the database holds, table by table, regardless of column order: types,
    nullability, server defaults (SERIAL shows as nextval), keys and indexes."""
    insp = inspect(engine)
    return {
        table: {
            "columns": {
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in insp.get_columns(table)
            },
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": {
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            },
            "uniques": insp.get_unique_constraints(table),
        }
        for table in insp.get_table_names()
        if table != migrate.VERSION_TABLE
    }


def migrations_with(tmp_path: Path, revision: str, body: str) -> Path:
    """A copy of the shipped migrations plus one more revision after the head."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / f"{revision}.py").write_text(
        f"import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {revision!r}\ndown_revision = {HEAD!r}\n"
        f"branch_labels = None\ndepends_on = None\n\n\n{body}",
        encoding="utf-8",
    )
    return location


def test_an_empty_database_is_upgraded_to_exactly_schema_py(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        assert migrate.current_revision(engine) is None
        assert migrate.upgrade_to_head(engine) == HEAD == migrate.current_revision(engine)
        assert schema_differences(engine) == []
        indexes = inspect(engine).get_indexes("ops")
        assert [(i["name"], i["column_names"]) for i in indexes] == [
            ("ix_ops_kind_hlc", ["kind", "hlc"])
        ]


def test_migrations_build_what_create_all_builds(hub_db_url: str, second_db_url: str) -> None:
    with engine_for(hub_db_url) as migrated, engine_for(second_db_url) as created:
        migrate.upgrade_to_head(migrated)
        schema.metadata.create_all(created)
        assert structure(migrated) == structure(created)


def test_upgrading_twice_changes_nothing(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        migrate.upgrade_to_head(engine)
        before = structure(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.meta), {"key": "tenant", "value": "shop-7"})
        assert migrate.upgrade_to_head(engine) == HEAD
        assert structure(engine) == before
        with engine.connect() as conn:
            assert conn.execute(select(schema.meta.c.value)).scalars().all() == ["shop-7"]
            versions = conn.execute(text(f"SELECT version_num FROM {migrate.VERSION_TABLE}"))
            assert versions.scalars().all() == [HEAD]


def test_a_database_made_by_create_all_is_stamped_and_keeps_its_rows(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.heads), {"origin": "store-1", "seq": 42})
            conn.execute(insert(schema.meta), {"key": "tenant", "value": "shop-7"})
        assert migrate.current_revision(engine) is None
    store = ReplicaStore(hub_db_url, origin="cloud")
    try:
        assert migrate.current_revision(store.engine) == HEAD
        assert store.head("store-1") == 42
        assert store.get_meta("tenant") == "shop-7"
    finally:
        store.close()


def test_a_database_with_only_some_replica_tables_is_refused(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        schema.ops.create(engine)
        with pytest.raises(ConfigurationError, match="heads"):
            migrate.upgrade_to_head(engine)
        assert migrate.current_revision(engine) is None


def test_a_database_a_newer_release_migrated_is_used_as_it_is(
    hub_db_url: str, tmp_path: Path
) -> None:
    # A rolling upgrade or a rollback: this release meets a revision it does not know.
    newer = migrations_with(
        tmp_path,
        "0002_peers_region",
        "def upgrade():\n"
        '    with op.batch_alter_table("peers") as batch:\n'
        '        batch.add_column(sa.Column("region", sa.String(64), nullable=True))\n',
    )
    with engine_for(hub_db_url) as engine:
        migrate.upgrade_to_head(engine, location=newer)
    store = ReplicaStore(hub_db_url, origin="store-1", key=NodeKey.generate())
    try:
        receive(store, "A", 5)
        store.save_peer("cloud", vv={"store-1": 1})
        assert migrate.current_revision(store.engine) == "0002_peers_region"
        assert store.stock_levels() == {("A", "store-1"): 5}
    finally:
        store.close()


def test_a_foreign_database_at_an_unknown_revision_is_refused(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('1a2b3c_other_app')"))
        with pytest.raises(ConfigurationError, match="not a replica store"):
            migrate.upgrade_to_head(engine)


def test_a_later_revision_alters_a_table_and_keeps_its_rows(
    hub_db_url: str, tmp_path: Path
) -> None:
    # recreate="always" makes SQLite copy the table: the path every ALTER it lacks takes.
    location = migrations_with(
        tmp_path,
        "0002_peers_region",
        "def upgrade():\n"
        '    with op.batch_alter_table("peers", recreate="always") as batch:\n'
        '        batch.add_column(sa.Column("region", sa.String(64), nullable=True))\n',
    )
    with engine_for(hub_db_url) as engine:
        migrate.upgrade_to_head(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.peers), {"peer": "store-1", "vv": "{}", "connected": True})
        assert migrate.upgrade_to_head(engine, location=location) == "0002_peers_region"
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT peer, region FROM peers")).all()
        assert [tuple(r) for r in rows] == [("store-1", None)]


def test_a_failing_revision_leaves_the_database_as_it_was(hub_db_url: str, tmp_path: Path) -> None:
    location = migrations_with(
        tmp_path,
        "0002_broken",
        'def upgrade():\n    op.create_table("half_done", sa.Column("id", sa.Integer))\n'
        '    raise RuntimeError("power cut")\n',
    )
    with engine_for(hub_db_url) as engine:
        with pytest.raises(RuntimeError, match="power cut"):
            migrate.upgrade_to_head(engine, location=location)
        assert migrate.current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
        assert migrate.upgrade_to_head(engine) == HEAD  # and the lock was released


def test_stores_opened_at_once_in_two_threads_both_succeed(hub_db_url: str) -> None:
    start = threading.Barrier(2)
    opened: list[ReplicaStore] = []
    errors: list[BaseException] = []

    def open_store(worker: int) -> None:
        start.wait()
        try:
            opened.append(ReplicaStore(hub_db_url, origin=f"hub-worker-{worker}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(opened) == 2
        assert migrate.current_revision(opened[0].engine) == HEAD
    finally:
        for store in opened:
            store.close()


WORKERS = 3  # without the advisory lock, PostgreSQL fails this most runs
OPEN_AT_SIGNAL = """
import sys, time
from pathlib import Path
from sync_protocol.store import ReplicaStore
url, worker, ready, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
ready.touch()
while not go.exists():
    time.sleep(0.002)
ReplicaStore(url, origin="hub-worker-" + worker).close()
"""


def test_stores_opened_at_once_in_separate_processes_all_succeed(
    hub_db_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_SIGNAL, hub_db_url, str(i), tmp_path / f"ready{i}", go],
            cwd=REPO,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(WORKERS)):
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.01)
    go.touch()
    failures = [w.communicate(timeout=60)[1] for w in workers if w.wait(timeout=60) != 0]
    assert failures == []
    with engine_for(hub_db_url) as engine:
        assert migrate.current_revision(engine) == HEAD
        assert schema_differences(engine) == []


def test_a_store_opened_after_migration_records_ops(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        migrate.upgrade_to_head(engine)
    store = ReplicaStore(hub_db_url, origin="store-1", key=NodeKey.generate())
    try:
        with store.write() as txn:
            txn.append(
                "stock.moved", {"sku": "A", "location": "x", "qty": 1, "reason": "receive"}, "t"
            )
        assert [(op.origin, op.seq) for op in store.all_ops()] == [("store-1", 1)]
        assert store.stock_levels() == {("A", "x"): 1}
    finally:
        store.close()


def test_the_command_line_reports_and_upgrades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/edge.db"
    assert migrate.main(["current", url]) == 0
    assert migrate.main(["upgrade", url]) == 0
    assert migrate.main(["current", url]) == 0
    assert capsys.readouterr().out.split() == ["none", HEAD, HEAD]


def test_a_new_revision_follows_the_head_and_finds_nothing_to_do(tmp_path: Path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    path = migrate.new_revision("Add peers.region", location=location)
    assert path == location / "versions" / "0002_add_peers_region.py"
    assert migrate.head_revision(location) == "0002_add_peers_region"
    source = path.read_text(encoding="utf-8")
    assert f'down_revision: str | Sequence[str] | None = "{HEAD}"' in source
    upgrade = source.split("def upgrade()")[1].split("def downgrade()")[0]
    assert "op." not in upgrade  # schema.py is already at head: nothing to generate
