"""`shopfloor edge …`: initialise a node, show its identity, run it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from edge.settings import EdgeSettings
from sync_protocol.signing import NodeKey


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    edge = sub.add_parser("edge", help="a store or warehouse node")
    cmds = edge.add_subparsers(dest="edge_cmd", required=True)

    init = cmds.add_parser("init", help="create the node's settings and key")
    init.add_argument("--data-dir", type=Path, required=True)
    init.add_argument("--node-id", required=True)
    init.add_argument("--label", default="")
    init.add_argument("--kind", choices=["store", "warehouse"], default="store")
    init.add_argument("--tenant", default="demo")
    init.add_argument("--hub-key", default="", help="the hub's public key (from enroll-node)")
    _connection_args(init)
    init.set_defaults(func=_init)

    ident = cmds.add_parser("identity", help="print the node id and public key")
    ident.add_argument("--data-dir", type=Path, required=True)
    ident.set_defaults(func=_identity)

    run = cmds.add_parser("run", help="run the node (web UI, API, sync)")
    run.add_argument("--data-dir", type=Path, required=True)
    _connection_args(run)
    run.set_defaults(func=_run)

    from edge import cli_backup

    cli_backup.register(cmds)


def _connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker-host")
    p.add_argument("--broker-port", type=int)
    p.add_argument("--broker-protocol", choices=["5", "3.1.1"])
    p.add_argument("--broker-ca-file", help="CA of the broker's TLS certificate")
    p.add_argument("--broker-cert-file", help="this node's client certificate")
    p.add_argument("--broker-key-file", help="the key of that certificate")
    p.add_argument("--http-host")
    p.add_argument("--http-port", type=int)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        "broker_host": args.broker_host,
        "broker_port": args.broker_port,
        "broker_protocol": args.broker_protocol,
        "broker_ca_file": args.broker_ca_file,
        "broker_cert_file": args.broker_cert_file,
        "broker_key_file": args.broker_key_file,
        "http_host": args.http_host,
        "http_port": args.http_port,
    }


def _init(args: argparse.Namespace) -> int:
    settings = EdgeSettings(
        data_dir=args.data_dir,
        node_id=args.node_id,
        label=args.label,
        kind=args.kind,
        tenant=args.tenant,
        hub_public_key=args.hub_key,
        **{k: v for k, v in _overrides(args).items() if v is not None},  # type: ignore[arg-type]
    )
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


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from edge.app import create_app

    settings = EdgeSettings.load(args.data_dir, **_overrides(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per start is noise
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning"
    )
    return 0
