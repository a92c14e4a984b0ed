"""`shopfloor devices …`: run the device agent, list the machine's devices, watch the bus.

    shopfloor devices run   --config devices.toml [--broker-host H] [--broker-port P]
    shopfloor devices list  [--config devices.toml] [--json]
    shopfloor devices watch [--device ID] [--broker-host H] [--broker-port P]
    shopfloor devices send  DEVICE '{"cmd": "tare"}' [--broker-host H] [--broker-port P]

Imports nothing of ours outside ``devices`` (DESIGN §1): errors are printed here.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from devices.errors import DeviceError

DEFAULT_CONFIG = Path("devices.toml")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    devices = sub.add_parser("devices", help="scanners, scales and printers on the local bus")
    cmds = devices.add_subparsers(dest="devices_cmd", required=True)

    run = cmds.add_parser("run", help="run the device agent")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    _broker_args(run)
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)

    ls = cmds.add_parser("list", help="show scanners, serial ports and configured printers")
    ls.add_argument(
        "--config", type=Path, default=None, help=f"default: {DEFAULT_CONFIG} if present"
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    watch = cmds.add_parser("watch", help="print device events and statuses as they arrive")
    watch.add_argument("--device", default="+")
    watch.add_argument("--config", type=Path, default=None, help="take the broker from it")
    watch.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
    _broker_args(watch)
    watch.set_defaults(func=_watch)

    send = cmds.add_parser("send", help="send a JSON command to a device")
    send.add_argument("device")
    send.add_argument("command", help='e.g. \'{"cmd": "tare"}\'')
    send.add_argument("--config", type=Path, default=None, help="take the broker from it")
    send.add_argument("--timeout", type=float, default=10.0)
    _broker_args(send)
    send.set_defaults(func=_send)


def _broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker-host")
    p.add_argument("--broker-port", type=int)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _broker(args: argparse.Namespace) -> tuple[str, int, str]:
    from devices.agent.config import BrokerConfig, load_config

    broker = BrokerConfig()
    config_path = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    if config_path is not None:
        broker = load_config(config_path).broker
    return args.broker_host or broker.host, args.broker_port or broker.port, broker.protocol


def _run(args: argparse.Namespace) -> int:
    from devices.agent.agent import run_until_signalled, with_broker
    from devices.agent.config import load_config

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        config = with_broker(load_config(args.config), args.broker_host, args.broker_port)
    except DeviceError as exc:
        return _fail(str(exc))
    if not config.devices:
        return _fail(f"{args.config} lists no [[device]]")
    run_until_signalled(config)
    return 0


def _list(args: argparse.Namespace) -> int:
    from devices.agent.config import load_config
    from devices.agent.discovery import format_inventory, inventory

    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    try:
        config = load_config(path) if path is not None else None
    except DeviceError as exc:
        return _fail(str(exc))
    inv = inventory(config)
    if args.json:
        print(json.dumps(inv, ensure_ascii=False, indent=2))
    else:
        print(format_inventory(inv, str(path) if path else "(no config file)"))
    return 0


def _watch(args: argparse.Namespace) -> int:
    from devices.agent.watch import BusMessage, BusWatcher

    try:
        host, port, protocol = _broker(args)
    except DeviceError as exc:
        return _fail(str(exc))

    def show(m: BusMessage) -> None:
        flag = " (retained)" if m.retained else ""
        print(f"{m.device} {m.channel}{flag}: {m.payload.decode('utf-8', 'replace')}", flush=True)

    watcher = BusWatcher(host, port, device=args.device, protocol=protocol, on_message=show)
    try:
        watcher.start()
    except (OSError, TimeoutError) as exc:
        return _fail(f"cannot watch {host}:{port}: {exc}")
    try:
        deadline = time.monotonic() + args.duration if args.duration else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


def _send(args: argparse.Namespace) -> int:
    from devices.agent.watch import BusWatcher

    try:
        host, port, protocol = _broker(args)
        command = json.loads(args.command)
    except DeviceError as exc:
        return _fail(str(exc))
    except json.JSONDecodeError as exc:
        return _fail(f"the command is not JSON: {exc}")
    if not isinstance(command, dict):
        return _fail('the command must be a JSON object such as {"cmd": "tare"}')
    command["id"] = str(command.get("id") or f"cli-{int(time.time() * 1000)}")
    try:
        watcher = BusWatcher(host, port, device=args.device, protocol=protocol).start()
    except (OSError, TimeoutError) as exc:
        return _fail(f"cannot reach {host}:{port}: {exc}")
    try:
        watcher.send(args.device, command)
        answer = watcher.wait_for(
            lambda m: (
                m.channel == "event"
                and m.data.get("type") == "command_result"
                and m.data.get("request_id") == command["id"]
            ),
            args.timeout,
            "answering the command",
        )
    except TimeoutError as exc:
        return _fail(f"no answer from {args.device} (is the agent running?): {exc}")
    finally:
        watcher.stop()
    print(answer.payload.decode("utf-8"))
    return 0 if answer.data.get("ok") else 1
