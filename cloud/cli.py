"""`shopfloor cloud …`: run the hub, enroll nodes, show the hub's identity."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cloud.settings import HubSettings
from sync_protocol.settings import add_flags, given_flags

if TYPE_CHECKING:
    from sync_protocol.store import ReplicaStore

#: The settings of the commands that only open the hub's store and key.
COMMON = {"data_dir", "db", "tenant"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cloud = sub.add_parser("cloud", help="the hub")
    cmds = cloud.add_subparsers(dest="cloud_cmd", required=True)

    # Every settings flag below comes from a field of HubSettings (docs/configuration.md).
    run = cmds.add_parser(
        "run",
        help="run the hub (ingest, relay, console)",
        description="Run the hub of --data-dir. A setting is taken from its flag, else "
        "from $SHOPFLOOR_HUB_<NAME>, else its default.",
    )
    add_flags(run, HubSettings, required={"data_dir"})
    run.set_defaults(func=_run)

    enroll = cmds.add_parser("enroll-node", help="allow a node to sync; prints the hub's key")
    add_flags(enroll, HubSettings, only=COMMON, required={"data_dir"})
    enroll.add_argument("node_id")
    enroll.add_argument("--public-key", required=True)
    enroll.add_argument("--label", default="")
    enroll.set_defaults(func=_enroll)

    ident = cmds.add_parser("identity", help="print the hub's public key")
    add_flags(ident, HubSettings, only=COMMON, required={"data_dir"})
    ident.set_defaults(func=_identity)

    admin = cmds.add_parser(
        "create-admin",
        help="create the hub's first admin user (password from a prompt or stdin)",
        description="Create an admin user of the HQ console. Refused once an active admin "
        "exists (admins then create users in the console) unless --another is given.",
    )
    add_flags(admin, HubSettings, only=COMMON, required={"data_dir"})
    admin.add_argument("username")
    admin.add_argument("--display-name", default="")
    admin.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    admin.add_argument("--another", action="store_true", help="even if an admin exists")
    admin.set_defaults(func=_create_admin)

    from cloud.scopes import TOKEN_SCOPES
    from shopfloor_cli import tokens
    from sync_protocol import blocked_cli

    def store_flags(parser: argparse.ArgumentParser) -> None:
        add_flags(parser, HubSettings, only=COMMON, required={"data_dir"})

    blocked_cli.register(cmds, add_store_flags=store_flags, open_store=_store)
    tokens.register(cmds, add_store_flags=store_flags, open_store=_store, scopes=TOKEN_SCOPES)


def _settings(args: argparse.Namespace) -> HubSettings:
    return HubSettings(**given_flags(args, HubSettings))


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[ReplicaStore]:
    """The hub's store alone (no ingest, no web): what a command run beside it needs."""
    from cloud.hub import Hub

    hub = Hub.open(_settings(args), with_ingest=False)
    try:
        yield hub.store
    finally:
        hub.close()


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from cloud.app import create_app

    settings = _settings(args)
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


def _create_admin(args: argparse.Namespace) -> int:
    from cloud.accounts.users import count_admins, create_user
    from sync_protocol.errors import ShopfloorError
    from sync_protocol.hlc import system_ms

    password = _new_password(from_stdin=args.password_stdin)
    with _store(args) as store:
        if count_admins(store.engine) and not args.another:
            print("an admin exists already: use --another to add one / 已有管理员", file=sys.stderr)
            return 1
        try:
            user = create_user(
                store.engine,
                args.username,
                password,
                role="admin",
                display_name=args.display_name,
                now_ms=system_ms(),
            )
        except ShopfloorError as exc:
            print(f"error: {exc.message}\n错误：{exc.message_zh}", file=sys.stderr)
            return 2
    print(f"admin {user.username} created / 管理员 {user.username} 已创建")
    return 0


def _new_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("password / 密码: ")
    if getpass.getpass("again / 再输一次: ") != first:
        raise SystemExit("the passwords differ / 两次输入的密码不一致")
    return first


def _identity(args: argparse.Namespace) -> int:
    from sync_protocol.signing import NodeKey

    settings = _settings(args)
    print(NodeKey.load_or_create(settings.key_path).public_b64)
    return 0
