"""`shopfloor cloud …`: run the hub, enroll nodes, show the hub's identity."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cloud.settings import HubSettings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cloud = sub.add_parser("cloud", help="the hub")
    cmds = cloud.add_subparsers(dest="cloud_cmd", required=True)

    run = cmds.add_parser("run", help="run the hub (ingest, relay, console)")
    _common(run)
    run.add_argument("--broker-host", default="127.0.0.1")
    run.add_argument("--broker-port", type=int, default=1883)
    run.add_argument("--broker-protocol", choices=["5", "3.1.1"], default="5")
    run.add_argument("--no-shared-subscription", action="store_true")
    run.add_argument("--broker-ca-file", help="CA of the broker's TLS certificate")
    run.add_argument("--broker-cert-file", help="the hub's client certificate")
    run.add_argument("--broker-key-file", help="the key of that certificate")
    run.add_argument("--http-host", default="0.0.0.0")
    run.add_argument("--http-port", type=int, default=8000)
    run.add_argument("--worker-id", default="1")
    run.set_defaults(func=_run)

    enroll = cmds.add_parser("enroll-node", help="allow a node to sync; prints the hub's key")
    _common(enroll)
    enroll.add_argument("node_id")
    enroll.add_argument("--public-key", required=True)
    enroll.add_argument("--label", default="")
    enroll.set_defaults(func=_enroll)

    ident = cmds.add_parser("identity", help="print the hub's public key")
    _common(ident)
    ident.set_defaults(func=_identity)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument(
        "--db", help="database URL (default: $SHOPFLOOR_HUB_DB, else SQLite in the data dir)"
    )
    p.add_argument("--tenant", default="demo")


def _settings(args: argparse.Namespace, **more: object) -> HubSettings:
    return HubSettings(data_dir=args.data_dir, db_url=args.db, tenant=args.tenant, **more)  # type: ignore[arg-type]


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from cloud.app import create_app

    settings = _settings(
        args,
        broker_host=args.broker_host,
        broker_port=args.broker_port,
        broker_protocol=args.broker_protocol,
        shared_subscription=not args.no_shared_subscription,
        broker_ca_file=args.broker_ca_file,
        broker_cert_file=args.broker_cert_file,
        broker_key_file=args.broker_key_file,
        http_host=args.http_host,
        http_port=args.http_port,
        worker_id=args.worker_id,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per start is noise
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning"
    )
    return 0


def _enroll(args: argparse.Namespace) -> int:
    from cloud.hub import Hub
    from cloud.registry import enroll_node

    hub = Hub.open(_settings(args), with_ingest=False)
    try:
        node = enroll_node(hub.store, args.node_id, args.public_key, args.label)
        print(f"enrolled {node.node_id} ({node.label})")
        print(f"hub public key: {hub.key.public_b64}")
    finally:
        hub.close()
    return 0


def _identity(args: argparse.Namespace) -> int:
    from sync_protocol.signing import NodeKey

    settings = _settings(args)
    print(NodeKey.load_or_create(settings.key_path).public_b64)
    return 0
