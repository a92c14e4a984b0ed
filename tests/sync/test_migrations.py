"""Schema migrations of the replica store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
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
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, insert, inspect, select, text

from domain.migrations import main as migrations_cli
from domain.registry import REGISTRY
from sync_protocol.errors import ConfigurationError
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore, migrate, schema
from sync_protocol.store.dialect import make_engines
from tests.support import postgres
from tests.sync.replicas import receive, stock_of

REPO = Path(__file__).resolve().parents[2]
HEAD = migrate.head_revision()  # the core branch's
AREAS = REGISTRY.migration_locations()
METADATA = [schema.metadata, *REGISTRY.metadata()]
HEADS = migrate.head_revisions(areas=AREAS)  # every branch's, as a store migrates them


def upgrade(engine: Engine, *, location: Path = migrate.MIGRATIONS) -> migrate.Upgrade:
    """What opening a store does: every branch, the core's and each area's."""
    return migrate.upgrade_to_head(
        engine, location=location, areas=AREAS, target_metadata=REGISTRY.metadata()
    )


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
        combined = MetaData()
        for metadata in METADATA:
            for table in metadata.tables.values():
                table.to_metadata(combined)
        return list(compare_metadata(MigrationContext.configure(conn), combined))


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
        assert migrate.current_heads(engine) == ()
        assert upgrade(engine).heads == HEADS == migrate.current_heads(engine)
        assert schema_differences(engine) == []
        indexes = inspect(engine).get_indexes("ops")
        assert [(i["name"], i["column_names"]) for i in indexes] == [
            ("ix_ops_kind_hlc", ["kind", "hlc"])
        ]


def test_migrations_build_what_create_all_builds(hub_db_url: str, second_db_url: str) -> None:
    with engine_for(hub_db_url) as migrated, engine_for(second_db_url) as created:
        upgrade(migrated)
        for metadata in METADATA:
            metadata.create_all(created)
        assert structure(migrated) == structure(created)


def test_upgrading_twice_changes_nothing(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        upgrade(engine)
        before = structure(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.meta), {"key": "tenant", "value": "shop-7"})
        assert upgrade(engine).heads == HEADS
        assert structure(engine) == before
        with engine.connect() as conn:
            tenant = select(schema.meta.c.value).where(schema.meta.c.key == "tenant")
            assert conn.execute(tenant).scalars().all() == ["shop-7"]
            versions = conn.execute(text(f"SELECT version_num FROM {migrate.VERSION_TABLE}"))
            assert sorted(versions.scalars().all()) == list(HEADS)


OPEN_AND_LIST = """\
import json, sys
from domain.registry import REGISTRY
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
ReplicaStore(sys.argv[1], origin="store-1", key=NodeKey.generate(), registry=REGISTRY).close()
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_a_database_this_release_migrated_opens_without_loading_alembic(
    hub_db_url: str,
) -> None:
    def packages_loaded_by_an_open() -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_AND_LIST, hub_db_url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=REPO,
        )
        return set(json.loads(done.stdout))

    assert "alembic" in packages_loaded_by_an_open()  # the first open migrates
    assert "alembic" not in packages_loaded_by_an_open()


def test_a_database_upgraded_by_other_revisions_goes_through_alembic_again(
    hub_db_url: str, tmp_path: Path
) -> None:
    later = migrations_with(
        tmp_path,
        "0002_peers_region",
        "def upgrade():\n"
        '    with op.batch_alter_table("peers") as batch:\n'
        '        batch.add_column(sa.Column("region", sa.String(64), nullable=True))\n',
    )
    with engine_for(hub_db_url) as engine:
        upgrade(engine)
        assert "0002_peers_region" in upgrade(engine, location=later).heads
        assert "region" in {c["name"] for c in inspect(engine).get_columns("peers")}


def made_by_create_all(engine: Engine) -> None:
    """What `create_all` made before migrations existed: the first revision's tables
    (its shape, frozen in that revision), without a version table."""
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), f"{migrate.INITIAL_REVISION}")
        conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))


def test_a_database_made_by_create_all_is_stamped_and_keeps_its_rows(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        made_by_create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.heads), {"origin": "store-1", "seq": 42})
            conn.execute(insert(schema.meta), {"key": "tenant", "value": "shop-7"})
        assert migrate.current_heads(engine) == ()
    store = ReplicaStore(hub_db_url, origin="cloud", registry=REGISTRY)
    try:
        assert migrate.current_heads(store.engine) == HEADS
        assert store.head("store-1") == 42
        assert store.get_meta("tenant") == "shop-7"
    finally:
        store.close()


def test_a_database_with_only_some_replica_tables_is_refused(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        schema.ops.create(engine)
        with pytest.raises(ConfigurationError, match="heads"):
            upgrade(engine)
        assert migrate.current_heads(engine) == ()


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
        upgrade(engine, location=newer)
    store = ReplicaStore(hub_db_url, origin="store-1", key=NodeKey.generate(), registry=REGISTRY)
    try:
        receive(store, "A", 5)
        store.save_peer("cloud", vv={"store-1": 1})
        assert "0002_peers_region" in migrate.current_heads(store.engine)
        assert stock_of(store) == {("A", "store-1"): 5}
    finally:
        store.close()


def test_a_foreign_database_at_an_unknown_revision_is_refused(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('1a2b3c_other_app')"))
        with pytest.raises(ConfigurationError, match="not a replica store"):
            upgrade(engine)


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
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(insert(schema.peers), {"peer": "store-1", "vv": "{}", "connected": True})
        assert "0002_peers_region" in upgrade(engine, location=location).heads
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
            upgrade(engine, location=location)
        assert migrate.current_heads(engine) == ()
        assert inspect(engine).get_table_names() == []
        assert upgrade(engine).heads == HEADS  # and the lock was released


def test_stores_opened_at_once_in_two_threads_both_succeed(hub_db_url: str) -> None:
    start = threading.Barrier(2)
    opened: list[ReplicaStore] = []
    errors: list[BaseException] = []

    def open_store(worker: int) -> None:
        start.wait()
        try:
            opened.append(
                ReplicaStore(hub_db_url, origin=f"hub-worker-{worker}", registry=REGISTRY)
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(opened) == 2
        assert migrate.current_heads(opened[0].engine) == HEADS
    finally:
        for store in opened:
            store.close()


WORKERS = 3  # without the advisory lock, PostgreSQL fails this most runs
OPEN_AT_SIGNAL = """
import sys, time
from pathlib import Path
from sync_protocol.store import ReplicaStore
from domain.registry import REGISTRY
url, worker, ready, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
ready.touch()
while not go.exists():
    time.sleep(0.002)
ReplicaStore(url, origin="hub-worker-" + worker, registry=REGISTRY).close()
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
        assert migrate.current_heads(engine) == HEADS
        assert schema_differences(engine) == []


def test_a_store_opened_after_migration_records_ops(hub_db_url: str) -> None:
    with engine_for(hub_db_url) as engine:
        upgrade(engine)
    store = ReplicaStore(hub_db_url, origin="store-1", key=NodeKey.generate(), registry=REGISTRY)
    try:
        with store.write() as txn:
            txn.append(
                "stock.moved", {"sku": "A", "location": "x", "qty": 1, "reason": "receive"}, "t"
            )
        assert [(op.origin, op.seq) for op in store.all_ops()] == [("store-1", 1)]
        assert stock_of(store) == {("A", "x"): 1}
    finally:
        store.close()


def test_the_command_line_reports_and_upgrades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/edge.db"
    assert migrations_cli(["current", url]) == 0
    assert migrations_cli(["upgrade", url]) == 0
    assert migrations_cli(["current", url]) == 0
    assert capsys.readouterr().out.splitlines() == ["none", " ".join(HEADS), " ".join(HEADS)]


def test_a_new_core_revision_follows_the_core_head_and_finds_nothing_to_do(
    tmp_path: Path,
) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    path = migrate.new_revision("Add peers.region", location=location)
    following = f"{int(HEAD[:4]) + 1:04d}_add_peers_region"  # numbered after the head
    assert path == location / "versions" / f"{following}.py"
    assert migrate.head_revision(location) == following
    source = path.read_text(encoding="utf-8")
    assert f'down_revision: str | Sequence[str] | None = "{HEAD}"' in source
    upgrade = source.split("def upgrade()")[1].split("def downgrade()")[0]
    assert "op." not in upgrade  # schema.py is already at head: nothing to generate


def test_a_new_area_revision_goes_to_that_areas_branch_and_finds_nothing_to_do(
    tmp_path: Path,
) -> None:
    areas = []
    for folder in AREAS:
        copy = tmp_path / folder.parent.name / "migrations"
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        areas.append(copy)
    path = migrate.new_revision(
        "Add stock bins", branch="stock", areas=areas, target_metadata=REGISTRY.metadata()
    )
    assert path == tmp_path / "stock" / "migrations" / "stock_0002_add_stock_bins.py"
    source = path.read_text(encoding="utf-8")
    assert 'down_revision: str | Sequence[str] | None = "stock_0001"' in source
    upgrade = source.split("def upgrade()")[1].split("def downgrade()")[0]
    assert "op." not in upgrade  # the area's tables are already at head


def test_a_database_of_the_first_release_keeps_its_ops_and_rebuilds_its_projections(
    hub_db_url: str,
) -> None:
    # The first release made the projections in the core's first revision, with `sales`
    # keyed by sale_id alone; its stores held the business ops in the same database.
    old = ReplicaStore(hub_db_url, origin="store-1", key=NodeKey.generate())  # no areas
    receive(old, "A", 5)
    old.close()
    with engine_for(hub_db_url) as engine, engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE stock_levels (sku VARCHAR(64), location VARCHAR(64), qty BIGINT,"
                " PRIMARY KEY (sku, location))"
            )
        )
        conn.execute(text("INSERT INTO stock_levels VALUES ('A', 'store-1', 999)"))
        conn.execute(
            text("CREATE TABLE sales (sale_id VARCHAR(64) PRIMARY KEY, origin VARCHAR(64))")
        )
    store = ReplicaStore(hub_db_url, origin="store-1", registry=REGISTRY)
    try:
        assert migrate.current_heads(store.engine) == HEADS
        assert stock_of(store) == {("A", "store-1"): 5}
        assert schema_differences(store.engine) == []
    finally:
        store.close()


def test_ops_held_before_chains_existed_are_chained_as_new_ones_are(hub_db_url: str) -> None:
    source = ReplicaStore("sqlite://", origin="store-1", key=NodeKey.generate(), registry=REGISTRY)
    for qty in (5, -2, 4):
        receive(source, "A", qty)
    with engine_for(hub_db_url) as engine:
        made_by_create_all(engine)
        with engine.begin() as conn:
            for op in source.all_ops():
                conn.execute(
                    text(
                        "INSERT INTO ops (origin, seq, hlc, kind, v, actor, body, sig, "
                        "received_ms) VALUES (:o, :s, :h, :k, :v, :a, :b, :g, 0)"
                    ),
                    {
                        "o": op.origin,
                        "s": op.seq,
                        "h": op.hlc,
                        "k": op.kind,
                        "v": op.v,
                        "a": op.actor,
                        "b": json.dumps(op.body, sort_keys=True, separators=(",", ":")),
                        "g": base64.b64encode(op.sig).decode(),
                    },
                )
            conn.execute(insert(schema.heads), {"origin": "store-1", "seq": 3})
    store = ReplicaStore(hub_db_url, origin="cloud", registry=REGISTRY)
    try:
        assert store.head_links() == source.head_links()
        assert store.chain_links({"store-1": 2}) == source.chain_links({"store-1": 2})
        with store.read() as conn:
            top = conn.execute(select(schema.heads.c.hlc)).scalar()
        assert top == source.all_ops()[-1].hlc
        assert stock_of(store) == {("A", "store-1"): 7}
    finally:
        store.close()
        source.close()
