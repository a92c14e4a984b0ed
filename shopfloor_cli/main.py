"""Entry point of the `shopfloor` command.

Each group of subcommands lives in its own package and is imported only when it is the
one asked for: `shopfloor devices run` on a till loads the device agent, not the node's
SQLAlchemy, Alembic and cryptography (about 14 MiB of its RSS: docs/benchmarks.md §5).
`shopfloor --help` imports them all. So nothing of edge, cloud or devices is imported at
module level here; tests/unit/test_command_imports.py runs each command in a fresh
interpreter and checks what it loaded.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command → the module whose register(subparsers) adds it, in the order of --help.
COMMANDS = {
    "edge": "edge.cli",
    "cloud": "cloud.cli",
    "demo": "shopfloor_cli.demo",
    "sim": "shopfloor_cli.sim",
    "devices": "devices.cli",
}
OPTIONAL = {"devices"}  # the device agent is optional on a hub-only install


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given `argv`, only the command group it names is imported."""
    parser = argparse.ArgumentParser(
        prog="shopfloor", description="Shopfloor: offline-first store operations"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    for command, module_name in COMMANDS.items():
        if wanted is not None and command != wanted:
            continue
        if command in OPTIONAL and command != wanted:
            # Tried on a scratch parser first: a group missing a dependency (evdev on a
            # hub) fails there, often inside register(), without leaving half a command
            # in the listing. Asked for by name, it fails loudly instead, naming the
            # missing module rather than calling the command an invalid choice.
            try:
                _register(module_name, argparse.ArgumentParser().add_subparsers())
            except ImportError:
                continue
        _register(module_name, sub)
    return parser


def _register(module_name: str, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    importlib.import_module(module_name).register(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        # Looked up, not imported: a command that never loaded the error tree (devices)
        # cannot have raised one of its errors.
        errors = sys.modules.get("sync_protocol.errors")
        if errors is None or not isinstance(exc, errors.ShopfloorError):
            raise
        print(f"error: {exc.message}\n错误：{exc.message_zh}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
