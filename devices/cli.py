"""`shopfloor devices …`: run the device agent, list the machine's devices, watch the bus.

    shopfloor devices run   [--config devices.toml] [--broker-host H] [--broker-port P] …
    shopfloor devices list  [--config devices.toml] [--json]
    shopfloor devices watch [--device ID] [--broker-host H] [--broker-port P]
    shopfloor devices send  DEVICE '{"cmd": "tare"}' [--broker-host H] [--broker-port P]

The ``--config`` and ``--broker-*`` flags are made from the fields of
``devices.agent.config.AgentSettings`` and ``BrokerConfig`` (a setting is declared once;
flag > SHOPFLOOR_DEVICES_* > devices.toml > default, docs/configuration.md).

Imports nothing of ours outside ``devices`` (DESIGN §1): errors are printed here.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from devices.errors import DeviceError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from devices.agent.config import AgentConfig

DEFAULT_CONFIG = Path("devices.toml")
ENV_PREFIX = "SHOPFLOOR_DEVICES_"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    devices = sub.add_parser("devices", help="scanners, scales and printers on the local bus")
    cmds = devices.add_subparsers(dest="devices_cmd", required=True)

    run = cmds.add_parser("run", help="run the device agent")
    _config_arg(run)
    _broker_args(run)
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)

    ls = cmds.add_parser("list", help="show scanners, serial ports and configured printers")
    _config_arg(ls)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    watch = cmds.add_parser("watch", help="print device events and statuses as they arrive")
    watch.add_argument("--device", default="+")
    _config_arg(watch)
    watch.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
    _broker_args(watch)
    watch.set_defaults(func=_watch)

    send = cmds.add_parser("send", help="send a JSON command to a device")
    send.add_argument("device")
    send.add_argument("command", help='e.g. \'{"cmd": "tare"}\'')
    _config_arg(send)
    send.add_argument("--timeout", type=float, default=10.0)
    _broker_args(send)
    send.set_defaults(func=_send)


def _flag(p: argparse.ArgumentParser, flag: str, name: str, annotation: Any, help: str) -> None:
    """One flag of a field: its type, or its choices when it is a Literal."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    choices = get_args(annotation) if get_origin(annotation) is Literal else None
    kind = type(choices[0]) if choices else annotation
    metavar = None if choices else flag.removeprefix("--broker-").replace("-", "_").upper()
    p.add_argument(
        flag, dest=name, type=kind, choices=choices, default=None, metavar=metavar, help=help
    )


def _config_arg(p: argparse.ArgumentParser) -> None:
    from devices.agent.config import AgentSettings

    info = AgentSettings.model_fields["config"]
    text = f"{info.description} (env {ENV_PREFIX}CONFIG)"
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help=text)


def _broker_args(p: argparse.ArgumentParser) -> None:
    """--broker-host, --broker-port …: one per field of the [broker] table (not the password:
    give that in the file or as SHOPFLOOR_DEVICES_BROKER_PASSWORD)."""
    from devices.agent.config import BrokerConfig

    for name, info in BrokerConfig.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "flag" in extra and extra["flag"] is None:
            continue
        env = f"{ENV_PREFIX}BROKER_{name.upper()}"
        default = "" if info.default is None else f", else {info.default}"
        text = f"{info.description} (default: from the file{default}; env {env})"
        _flag(p, f"--broker-{name.replace('_', '-')}", f"broker_{name}", info.annotation, text)


def _tables(args: argparse.Namespace, model: type[BaseModel], table: str) -> dict[str, Any]:
    """The flags given for one table of the file: {"broker": {"host": …}} or {}."""
    values = {
        name: value
        for name in model.model_fields
        if (value := getattr(args, f"{table}_{name}", None)) is not None
    }
    return {table: values} if values else {}


def _fail(exc: DeviceError | str) -> int:
    message_zh = getattr(exc, "message_zh", None)
    print(f"error: {exc}", file=sys.stderr)
    if message_zh and message_zh != str(exc):
        print(f"错误：{message_zh}", file=sys.stderr)
    return 2


def _load(args: argparse.Namespace) -> AgentConfig:
    """The AgentConfig of the --config file (or $SHOPFLOOR_DEVICES_CONFIG, or ./devices.toml
    if there is one) under the environment and the flags."""
    from devices.agent.config import BrokerConfig, load_config

    flags = _tables(args, BrokerConfig, "broker") if hasattr(args, "broker_host") else {}
    return load_config(args.config, **flags)


def _run(args: argparse.Namespace) -> int:
    from devices.agent.agent import run_until_signalled

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        config = _load(args)
    except DeviceError as exc:
        return _fail(exc)
    if config.source is None:
        return _fail(
            f"{DEFAULT_CONFIG} not found; give --config, or copy deploy/devices.toml.example"
        )
    if not config.devices:
        return _fail(f"{config.source} lists no [[device]]")
    run_until_signalled(config)
    return 0


def _list(args: argparse.Namespace) -> int:
    from devices.agent.discovery import format_inventory, inventory

    try:
        config = _load(args)
    except DeviceError as exc:
        return _fail(exc)
    inv = inventory(config if config.source is not None else None)
    if args.json:
        print(json.dumps(inv, ensure_ascii=False, indent=2))
    else:
        print(format_inventory(inv, str(config.source or "(no config file)")))
    return 0


def _watch(args: argparse.Namespace) -> int:
    from devices.agent.watch import BusMessage, BusWatcher

    try:
        broker = _load(args).broker
    except DeviceError as exc:
        return _fail(exc)
    host, port, protocol = broker.host, broker.port, broker.protocol

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
        broker = _load(args).broker
        command = json.loads(args.command)
    except DeviceError as exc:
        return _fail(exc)
    except json.JSONDecodeError as exc:
        return _fail(f"the command is not JSON: {exc}")
    if not isinstance(command, dict):
        return _fail('the command must be a JSON object such as {"cmd": "tare"}')
    command["id"] = str(command.get("id") or f"cli-{int(time.time() * 1000)}")
    host, port, protocol = broker.host, broker.port, broker.protocol
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
