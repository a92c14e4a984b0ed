"""`shopfloor edge …`: initialise a node, show its identity, run it."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from edge.settings import EdgeSettings
from sync_protocol.settings import add_flags, given_flags
from sync_protocol.signing import NodeKey

if TYPE_CHECKING:
    from sync_protocol.store import ReplicaStore


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    edge = sub.add_parser("edge", help="a store or warehouse node")
    cmds = edge.add_subparsers(dest="edge_cmd", required=True)

    # Every flag below comes from a field of EdgeSettings (docs/configuration.md).
    init = cmds.add_parser("init", help="create the node's settings and key")
    add_flags(init, EdgeSettings, required={"data_dir", "node_id"})
    init.set_defaults(func=_init)

    ident = cmds.add_parser("identity", help="print the node id and public key")
    add_flags(ident, EdgeSettings, only={"data_dir"}, required={"data_dir"})
    ident.set_defaults(func=_identity)

    run = cmds.add_parser(
        "run",
        help="run the node (web UI, API, sync)",
        description="Run the node of --data-dir. A setting is taken from its flag, else "
        "from $SHOPFLOOR_EDGE_<NAME>, else from node.json, else its default.",
    )
    add_flags(run, EdgeSettings, exclude={"node_id"}, required={"data_dir"})
    run.set_defaults(func=_run)

    from edge import cli_backup, cli_ledger
    from edge.scopes import TOKEN_SCOPES
    from shopfloor_cli import tokens
    from sync_protocol import blocked_cli

    def ledger_flags(parser: argparse.ArgumentParser) -> None:
        add_flags(parser, EdgeSettings, only={"data_dir"}, required={"data_dir"})

    cli_backup.register(cmds)
    cli_ledger.register(cmds)
    blocked_cli.register(cmds, add_store_flags=ledger_flags, open_store=_ledger)
    tokens.register(cmds, add_store_flags=ledger_flags, open_store=_ledger, scopes=TOKEN_SCOPES)


def _init(args: argparse.Namespace) -> int:
    settings = EdgeSettings(**given_flags(args, EdgeSettings))
    settings.save()
    key = NodeKey.load_or_create(settings.key_path)
    print(f"node {settings.node_id} initialised in {settings.data_dir}")
    print(f"public key: {key.public_b64}")
    print("enroll it on the hub:")
    print(f"  shopfloor cloud enroll-node {settings.node_id} --public-key {key.public_b64}")
    return 0


def _identity(args: argparse.Namespace) -> int:
    settings = EdgeSettings.load(args.data_dir)
    key = NodeKey.load_or_create(settings.key_path)
    print(f"{settings.node_id} {key.public_b64}")
    return 0


@contextmanager
def _ledger(args: argparse.Namespace) -> Iterator[ReplicaStore]:
    """The node's ledger alone (no sync, no web): what a command run beside it needs."""
    from edge.node import Node

    node = Node.open(EdgeSettings.load(args.data_dir), with_sync=False)
    try:
        yield node.ledger
    finally:
        node.close()


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from edge.app import create_app

    settings = EdgeSettings.load(**given_flags(args, EdgeSettings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per start is noise
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning"
    )
    return 0
