"""`sync_protocol.files`: a file is its old content or its new one, a key is 0600 from birth."""

from __future__ import annotations

import os
import resource
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.settings import EdgeSettings
from sync_protocol.files import write_atomically, write_secret
from sync_protocol.signing import NodeKey
from tests.support.pki import CertificateAuthority


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes fail with EFBIG (a full disk, as far as the writer knows)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def test_the_file_holds_exactly_the_data(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    write_atomically(path, '{"node_id": "上海-1"}'.encode())
    assert path.read_bytes() == '{"node_id": "上海-1"}'.encode()
    assert mode_of(path) == 0o644
    assert leftovers(tmp_path) == []


def test_replacing_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_bytes(b"old and longer than the new content")
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_a_secret_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    with umask(0):
        write_secret(tmp_path / "node.key", b"-----BEGIN PRIVATE KEY-----\n")
    assert mode_of(tmp_path / "node.key") == 0o600


def test_the_mode_is_exact_under_a_strict_umask(tmp_path: Path) -> None:
    with umask(0o077):
        write_atomically(tmp_path / "ca.crt", b"cert", mode=0o644)
    assert mode_of(tmp_path / "ca.crt") == 0o644


def test_replacing_a_world_readable_file_with_a_secret_makes_it_0600(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_secret(path, b"new")
    assert mode_of(path) == 0o600


def test_a_write_that_fails_midway_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.json"
    path.write_bytes(b"old")
    with file_size_limit(1024), pytest.raises(OSError):
        write_atomically(path, b"x" * 4096)
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_failed_rename_keeps_the_target_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    target.mkdir()  # os.replace cannot put a file over a directory
    (target / "inside").write_bytes(b"old")
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert (target / "inside").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "node.json"
    path.write_bytes(b"old")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            write_atomically(path, b"new")
    finally:
        tmp_path.chmod(0o755)
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_missing_directory_is_an_error_not_a_new_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "nowhere" / "node.json", b"{}")
    assert not (tmp_path / "nowhere").exists()


# --- the files written with it ------------------------------------------------------------


def test_a_new_node_key_is_0600(tmp_path: Path) -> None:
    with umask(0):
        key = NodeKey.load_or_create(tmp_path / "node_key.pem")
    assert mode_of(tmp_path / "node_key.pem") == 0o600
    assert NodeKey.load_or_create(tmp_path / "node_key.pem").public_b64 == key.public_b64
    assert leftovers(tmp_path) == []


def test_a_tls_key_is_0600_and_its_certificate_0644(tmp_path: Path) -> None:
    with umask(0):
        CertificateAuthority.create().issue_node("store-1").save(
            tmp_path / "out" / "store-1.crt", tmp_path / "out" / "store-1.key"
        )
    assert mode_of(tmp_path / "out" / "store-1.key") == 0o600
    assert mode_of(tmp_path / "out" / "store-1.crt") == 0o644


def test_saving_settings_twice_replaces_node_json(tmp_path: Path) -> None:
    EdgeSettings(data_dir=tmp_path, node_id="store-1", label="旧").save()
    EdgeSettings(data_dir=tmp_path, node_id="store-1", label="新").save()
    assert EdgeSettings.load(tmp_path).label == "新"
    assert leftovers(tmp_path) == []
