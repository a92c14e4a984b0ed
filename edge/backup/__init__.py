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

from edge.backup.litestream import (
    BackupError,
    Replica,
    config_path,
    find_litestream,
    litestream_version,
    node_run_argv,
    parse_replica,
    replicate_command,
    write_config,
)
from edge.backup.restore import (
    MARKER_NAME,
    RESTORING_SUFFIX,
    RestoreMarker,
    clear_restored,
    restore,
    restore_copy,
    restore_marker,
    was_restored,
)

__all__ = [
    "MARKER_NAME",
    "RESTORING_SUFFIX",
    "BackupError",
    "Replica",
    "RestoreMarker",
    "clear_restored",
    "config_path",
    "find_litestream",
    "litestream_version",
    "node_run_argv",
    "parse_replica",
    "replicate_command",
    "restore",
    "restore_copy",
    "restore_marker",
    "was_restored",
    "write_config",
]
