"""`shopfloor edge restore` and `shopfloor edge replicate`: the node's ledger under Litestream.

    shopfloor edge restore   --data-dir D --replica URL [--output PATH]
    shopfloor edge replicate --data-dir D --replica URL [-- <edge run options>]

`replicate` is what the systemd unit runs: restore the ledger if it is missing and a backup
exists, then become `litestream replicate -exec "<python> -m shopfloor_cli.main edge run …"`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from edge import backup
from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError
from sync_protocol.settings import add_flags


def register(cmds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `restore` and `replicate` to the `shopfloor edge` subcommands."""
    restore = cmds.add_parser(
        "restore",
        help="restore the ledger from its Litestream replica if it is missing",
        description="Restore <data-dir>/ledger.db from the replica only if it does not exist "
        "and the replica holds a backup; a restored node finds <data-dir>/RESTORED and "
        "replays its own ops from the hub before writing. With --output, restore a copy "
        "elsewhere instead (to inspect a backup) and leave the node alone.",
    )
    _replica_args(restore)
    restore.add_argument("--output", type=Path, help="restore a copy to this new file instead")
    restore.set_defaults(func=_restore)

    replicate = cmds.add_parser(
        "replicate",
        help="run the node under Litestream (restore first if the ledger is missing)",
        description="Restore if needed, then exec `litestream replicate -exec` running "
        "`shopfloor edge run --data-dir D`. Options after `--` go to `edge run`.",
    )
    _replica_args(replicate)
    replicate.add_argument(
        "--sync-interval", help="how often Litestream ships the WAL (Go duration, default 1s)"
    )
    replicate.add_argument(
        "run_args", nargs=argparse.REMAINDER, help="-- then options for `edge run`"
    )
    replicate.set_defaults(func=_replicate)


def _replica_args(p: argparse.ArgumentParser) -> None:
    add_flags(p, EdgeSettings, only={"data_dir"}, required={"data_dir"})
    p.add_argument(
        "--replica",
        required=True,
        help="file:///dir (or /dir), sftp://user@host[:port]/path or s3://bucket/path",
    )
    p.add_argument(
        "--replica-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="more replica settings, e.g. key-path=/etc/shopfloor/sftp_key, region=…",
    )
    p.add_argument(
        "--integrity-check",
        choices=["none", "quick", "full"],
        default="full",
        help="SQLite integrity check of a restored ledger (default: full)",
    )


def _options(args: argparse.Namespace) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in args.replica_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--replica-option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _restore(args: argparse.Namespace) -> int:
    _logging()
    settings = EdgeSettings.load(args.data_dir)
    if args.output is not None:
        found = backup.restore_copy(
            settings,
            args.replica,
            args.output,
            options=_options(args),
            integrity_check=args.integrity_check,
        )
        print(f"restored a copy to {args.output}" if found else "the replica holds no backup")
        return 0 if found else 1
    if backup.restore(
        settings, args.replica, options=_options(args), integrity_check=args.integrity_check
    ):
        marker = backup.restore_marker(settings)
        assert marker is not None
        print(
            f"restored {settings.ledger_path}: {marker.ops} ops, own head {marker.own_head}, "
            f"in {marker.seconds:.2f}s; the node will replay its own ops from the hub"
        )
    elif settings.ledger_path.exists():
        print(f"{settings.ledger_path} exists: not restored")
    else:
        print("the replica holds no backup: the node will start a new ledger")
    return 0


def _replicate(args: argparse.Namespace) -> int:
    _logging()
    settings = EdgeSettings.load(args.data_dir)
    options = _options(args)
    run_args = list(args.run_args)
    if run_args[:1] == ["--"]:
        run_args = run_args[1:]
    backup.restore(settings, args.replica, options=options, integrity_check=args.integrity_check)
    argv = backup.replicate_command(
        settings,
        args.replica,
        backup.node_run_argv(settings, run_args),
        sync_interval=args.sync_interval,
        options=options,
    )
    logging.getLogger(__name__).info("exec %s", " ".join(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
    return 0  # not reached
