"""Crash-safe file writes: after a crash or power cut a file holds its old content or its
new content, never half of each, and a secret is never readable by others, not even briefly.

Every file we write that must survive a crash (node.json, the RESTORED marker, the
Litestream config) or that holds a secret (a node's key, a TLS key) goes through
`write_atomically`:

1. a temporary file is created next to the target with ``O_CREAT | O_EXCL`` and the final
   permissions, so a key file is 0600 from its first byte and an old temporary file, or an
   attacker's symlink of the same name, is never written through;
2. the data is written and fsynced;
3. ``os.replace`` puts it over the target in one step (same directory, same file system);
4. the directory is fsynced, so the rename itself survives a power cut.

On any failure the temporary file is removed and the target is left as it was.

    write_atomically(data_dir / "node.json", text.encode("utf-8"))
    write_secret(data_dir / "node_key.pem", pem)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PUBLIC = 0o644
SECRET = 0o600


def write_atomically(path: Path, data: bytes, *, mode: int = PUBLIC) -> None:
    """Replace `path` with a file holding exactly `data`, with permissions exactly `mode`.

    The directory must exist. Readers see the old file or the new one, never a partial
    write; once this returns, the new content survives a crash.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            # O_CREAT's mode was masked by the umask; make it exactly `mode` (never wider:
            # masking only removes bits, so the file was never more open than this).
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_secret(path: Path, data: bytes) -> None:
    """`write_atomically` for a private key or any secret: readable by its owner only."""
    write_atomically(path, data, mode=SECRET)


def fsync_file(path: Path) -> None:
    """Flush a file written by someone else (e.g. SQLite) to the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries, so that a file created, renamed or removed in it stays
    so after a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
