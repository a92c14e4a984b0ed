"""Entry point of the `shopfloor` command.

Each group of subcommands lives in its own package and is imported only when it is the
one asked for: `shopfloor devices run` on a till loads the device agent, not the node's
SQLAlchemy, Alembic and cryptography. `shopfloor --help` imports them all.
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
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            if command not in OPTIONAL:
                raise
            continue
        module.register(sub)
    return parser


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
