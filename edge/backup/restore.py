"""Restore the ledger at boot, and the RESTORED marker the node reads before it writes."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.backup.litestream import (
    BackupError,
    IntegrityCheck,
    absolute,
    checked_binary,
    parse_replica,
    write_config,
)
from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError
from sync_protocol.files import fsync_dir, fsync_file, write_atomically
from sync_protocol.signing import NodeKey
from sync_protocol.store import schema

log = logging.getLogger(__name__)


MARKER_NAME = "RESTORED"
RESTORING_SUFFIX = ".restoring"
SIDECARS = ("-wal", "-shm", "-journal")

# --- restore ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreMarker:
    """What <data_dir>/RESTORED says: this ledger came from a backup, and up to which of its
    own ops (`own_head`) the backup reached. The node asks the hub for its ops past
    `own_head` and replays them before writing anything (DESIGN §4), then clears it."""

    node_id: str
    restored_at: str
    replica: str
    own_head: int
    ops: int
    seconds: float


def restore(
    settings: EdgeSettings,
    replica_url: str,
    *,
    options: Mapping[str, str] | None = None,
    integrity_check: IntegrityCheck = "full",
    timeout: float | None = None,
) -> bool:
    """Restore the ledger from the replica if (and only if) the ledger does not exist and
    the replica holds a backup. Returns whether it restored; when it did, RESTORED is left
    in the data directory (see `was_restored`).

    Refuses (ConfigurationError) a backup that is not this node's: its ledger must have
    enrolled this node's id with the key in node_key.pem, or the node would sign ops with a
    key the hub does not know. Raises BackupError when Litestream fails (replica
    unreachable, damaged backup): the node must then not start with an empty ledger.
    """
    ledger = absolute(settings.ledger_path)
    replica = parse_replica(replica_url)
    # Check the binary and the options even when there is nothing to restore, so a wrong
    # setting fails at once rather than the day a restore is needed.
    checked_binary()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cfg = write_config(settings, replica_url, options=options)
    if ledger.exists():
        log.info("ledger %s exists: nothing to restore", ledger)
        return False
    _set_aside_leftovers(ledger)
    staging = ledger.with_name(ledger.name + RESTORING_SUFFIX)
    _remove_db_files(staging)
    started = time.monotonic()
    if not _litestream_restore(cfg, ledger, staging, integrity_check, timeout):
        log.info("no backup of %s at %s: starting with a new ledger", ledger, replica.redacted)
        return False
    try:
        own_head, ops = _check_owner(staging, settings)
    except BaseException:
        _remove_db_files(staging)
        raise
    seconds = round(time.monotonic() - started, 3)
    marker = RestoreMarker(
        node_id=settings.node_id,
        restored_at=datetime.now(UTC).isoformat(timespec="seconds"),
        replica=replica.redacted,
        own_head=own_head,
        ops=ops,
        seconds=seconds,
    )
    write_atomically(
        settings.data_dir / MARKER_NAME,
        (json.dumps(asdict(marker), indent=2) + "\n").encode("utf-8"),
        mode=0o644,
    )
    fsync_file(staging)
    os.replace(staging, ledger)
    fsync_dir(ledger.parent)
    log.warning(
        "restored %s from %s in %.2fs: %d ops, own head %d; the node must replay its own ops "
        "from the hub before writing",
        ledger, replica.redacted, seconds, ops, own_head,
    )  # fmt: skip
    return True


def restore_copy(
    settings: EdgeSettings,
    replica_url: str,
    output: Path,
    *,
    options: Mapping[str, str] | None = None,
    integrity_check: IntegrityCheck = "full",
    timeout: float | None = None,
) -> bool:
    """Restore the latest backup of this node's ledger to `output` (which must not exist),
    to inspect or verify it; the node's own files are not touched (beyond rewriting
    litestream.yml). Returns False when the replica holds no backup."""
    output = absolute(output)
    if output.exists():
        raise ConfigurationError(f"{output} exists; restore a copy to a new path")
    output.parent.mkdir(parents=True, exist_ok=True)
    cfg = write_config(settings, replica_url, options=options)
    return _litestream_restore(
        cfg, absolute(settings.ledger_path), output, integrity_check, timeout
    )


def _litestream_restore(
    cfg: Path, ledger: Path, output: Path, integrity_check: IntegrityCheck, timeout: float | None
) -> bool:
    argv = [
        str(checked_binary()),
        "restore",
        "-config", str(cfg),
        "-no-expand-env",
        "-if-replica-exists",
        "-integrity-check", integrity_check,
        "-o", str(output),
        str(ledger),
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        _remove_db_files(output)
        raise BackupError(f"litestream restore did not finish within {timeout}s") from exc
    for line in (done.stdout + done.stderr).splitlines():
        log.info("litestream: %s", line)
    if done.returncode != 0:
        _remove_db_files(output)
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(
            f"litestream restore failed ({done.returncode}): {detail[-1] if detail else ''}",
            message_zh="从备份恢复账本失败，请检查备份位置与网络后重试",
        )
    return output.exists()


def _check_owner(db: Path, settings: EdgeSettings) -> tuple[int, int]:
    """(own head, op count) of a restored ledger, after checking it is this node's: refused
    when the ledger enrolled this node's id with another key, or enrolled another node as
    itself ("self"). A backup taken before the node made its tables (Litestream follows the
    file from its creation) is an empty ledger: (0, 0)."""
    if not settings.key_path.exists():
        raise ConfigurationError(
            f"{settings.key_path} is missing: put back the node's key (kept with node.json "
            "since provisioning) before restoring its ledger, or the node would sign with a "
            "new key the hub rejects",
            message_zh="节点密钥文件缺失：请先恢复 node_key.pem，再恢复账本",
        )
    mine = NodeKey.load_or_create(settings.key_path).public_b64
    kr, heads, ops = schema.keyring, schema.heads, schema.ops
    conn = sqlite3.connect(f"{absolute(db).as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables & {kr.name, heads.name, ops.name}:
            return 0, 0
        keys = conn.execute(
            f"SELECT {kr.c.origin.name}, {kr.c.public_key.name}, {kr.c.label.name} FROM {kr.name}"
        ).fetchall()
        head = conn.execute(
            f"SELECT {heads.c.seq.name} FROM {heads.name} WHERE {heads.c.origin.name} = ?",
            (settings.node_id,),
        ).fetchone()
        count = conn.execute(f"SELECT count(*) FROM {ops.name}").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the restored file is not a Shopfloor ledger: {exc}") from exc
    finally:
        conn.close()
    ours = [key for origin, key, _label in keys if origin == settings.node_id]
    someone_else = [o for o, _key, label in keys if label == "self" and o != settings.node_id]
    if (ours and ours[0] != mine) or someone_else:
        whose = f"{someone_else[0]}'s" if someone_else else "written with a different key"
        raise ConfigurationError(
            f"the backup is not this node's ledger ({whose}): check the replica URL is "
            f"{settings.node_id}'s and node_key.pem is the node's original key",
            message_zh="备份不属于本节点（或节点密钥已变更）：请检查备份地址和 node_key.pem",
        )
    return (int(head[0]) if head else 0), int(count[0])


def _set_aside_leftovers(ledger: Path) -> None:
    """With the ledger gone, an old -wal would be replayed onto the restored file and corrupt
    it, and Litestream's old position (the meta dir) no longer describes anything: move them
    to <data_dir>/orphaned-<time>/ (kept, never deleted)."""
    meta = ledger.with_name(f".{ledger.name}-litestream")
    found = [ledger.with_name(ledger.name + s) for s in SIDECARS] + [meta]
    found = [p for p in found if p.exists()]
    if not found:
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    aside = ledger.parent / f"orphaned-{stamp}"
    aside.mkdir()
    for path in found:
        os.replace(path, aside / path.name)
    fsync_dir(ledger.parent)
    log.warning("ledger missing; moved its leftover files %s to %s", [p.name for p in found], aside)


def _remove_db_files(db: Path) -> None:
    for path in [db] + [db.with_name(db.name + s) for s in SIDECARS]:
        path.unlink(missing_ok=True)


# --- the marker -------------------------------------------------------------------------


def was_restored(settings: EdgeSettings) -> bool:
    """Whether the ledger came from a backup and the node has not yet caught up on its own
    ops from the hub. While true, the node must not append new ops."""
    return (settings.data_dir / MARKER_NAME).exists()


def restore_marker(settings: EdgeSettings) -> RestoreMarker | None:
    """The RESTORED marker's content, or None when there is none."""
    path = settings.data_dir / MARKER_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return RestoreMarker(**{k: data[k] for k in RestoreMarker.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        # A marker made by hand (`touch RESTORED`) still means "catch up before writing";
        # own_head 0 asks the hub for all of this node's ops, which is always safe.
        log.warning("%s is not a marker written by restore(); treating own head as 0", path)
        return RestoreMarker(settings.node_id, "", "", 0, 0, 0.0)


def clear_restored(settings: EdgeSettings) -> None:
    """Remove the marker (durably). Call only once the node's own ops past the restored
    head are committed to the ledger."""
    path = settings.data_dir / MARKER_NAME
    if path.exists():
        path.unlink()
        fsync_dir(settings.data_dir)
