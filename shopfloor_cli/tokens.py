"""`shopfloor edge|cloud issue-token`, `revoke-token` and `tokens`: API tokens for tills,
scripts and integrations, made by someone at the machine (the hub's admins also issue
them in the console). The secret is printed once and never again."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager

from sync_protocol.store import ReplicaStore

OpenStore = Callable[[argparse.Namespace], AbstractContextManager[ReplicaStore]]
AddFlags = Callable[[argparse.ArgumentParser], None]


def register(
    cmds: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    add_store_flags: AddFlags,
    open_store: OpenStore,
    scopes: Collection[str],
) -> None:
    issue = cmds.add_parser(
        "issue-token",
        help="issue an API token (printed once) for a till, a script or an integration",
    )
    add_store_flags(issue)
    issue.add_argument("label", help="what it is for, e.g. 'till 3' or 'ERP export'")
    issue.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=sorted(scopes),
        help="a right it holds (repeat for more)",
    )
    issue.set_defaults(func=lambda args: _issue(open_store, args, scopes))

    revoke = cmds.add_parser("revoke-token", help="revoke an API token: it stops at once")
    add_store_flags(revoke)
    revoke.add_argument("token_id")
    revoke.set_defaults(func=lambda args: _revoke(open_store, args))

    listing = cmds.add_parser("tokens", help="list the API tokens (never their secrets)")
    add_store_flags(listing)
    listing.set_defaults(func=lambda args: _list(open_store, args))


def _issue(open_store: OpenStore, args: argparse.Namespace, scopes: Collection[str]) -> int:
    from domain.access.tokens import issue_token
    from sync_protocol.errors import ShopfloorError
    from sync_protocol.hlc import system_ms

    with open_store(args) as store:
        try:
            secret, token = issue_token(
                store.engine,
                args.label,
                set(args.scope),
                known_scopes=scopes,
                created_by="cli",
                now_ms=system_ms(),
            )
        except ShopfloorError as exc:
            print(f"error: {exc.message}\n错误：{exc.message_zh}")
            return 2
    print(f"token {token.token_id} ({token.label}): {', '.join(sorted(token.scopes))}")
    print("secret (shown once; send it as 'Authorization: Bearer <secret>'):")
    print(secret)
    return 0


def _revoke(open_store: OpenStore, args: argparse.Namespace) -> int:
    from domain.access.tokens import revoke_token
    from domain.errors import NotFound
    from sync_protocol.hlc import system_ms

    with open_store(args) as store:
        try:
            revoke_token(store.engine, args.token_id, now_ms=system_ms())
        except NotFound as exc:
            print(f"error: {exc.message}\n错误：{exc.message_zh}")
            return 1
    print(f"token {args.token_id} revoked / 已吊销")
    return 0


def _list(open_store: OpenStore, args: argparse.Namespace) -> int:
    from domain.access.tokens import list_tokens

    with open_store(args) as store:
        for token in list_tokens(store.engine):
            state = "revoked" if token.revoked else "live"
            scopes = ",".join(sorted(token.scopes))
            print(f"{token.token_id}\t{state}\t{token.label}\t{scopes}\t{token.created_by}")
    return 0
