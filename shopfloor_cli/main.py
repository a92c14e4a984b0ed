"""Entry point of the `shopfloor` command."""

from __future__ import annotations

import argparse
import sys

from sync_protocol.errors import ShopfloorError


def build_parser() -> argparse.ArgumentParser:
    from cloud.cli import register as register_cloud
    from edge.cli import register as register_edge
    from shopfloor_cli import demo, sim

    parser = argparse.ArgumentParser(
        prog="shopfloor", description="Shopfloor: offline-first store operations"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    register_edge(sub)
    register_cloud(sub)
    demo.register(sub)
    sim.register(sub)
    try:
        from devices.cli import register as register_devices
    except ImportError:  # the device agent is optional on a hub-only install
        pass
    else:
        register_devices(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ShopfloorError as exc:
        print(f"error: {exc.message}\n错误：{exc.message_zh}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
