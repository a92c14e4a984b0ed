"""Commands on ``sf/dev/{device}/cmd``: parsing and the errors a command can end in.

A command is a JSON object with ``cmd`` and an optional ``id`` (echoed in the answer)::

    {"cmd": "print", "id": "r-1", "receipt": {...}, "key": "receipt:S001-000123"}
    {"cmd": "print", "label": {...}}
    {"cmd": "cancel", "job_id": 12, "reason": "customer left"}
    {"cmd": "tare"}   {"cmd": "zero"}   {"cmd": "beep"}   {"cmd": "status"}

Every command is answered by one ``CommandResult`` event on ``sf/dev/{device}/event``.
A payload that is not such an object raises ``InvalidCommand``: the agent answers it
with ``ok: false`` and carries on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devices.errors import DeviceError

MAX_COMMAND_BYTES = 256 * 1024


class InvalidCommand(DeviceError, ValueError):
    """A command payload is malformed or names a command the device does not take.

    What to do: fix the sender; the device did nothing.
    """


@dataclass(frozen=True)
class Command:
    name: str
    request_id: str | None
    body: dict[str, Any]


def parse_command(payload: bytes) -> Command:
    """Decode one command; InvalidCommand says what is wrong with it."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise InvalidCommand(f"command of {len(payload)} bytes is over {MAX_COMMAND_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCommand(f"command is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidCommand(f"command must be a JSON object, got {type(data).__name__}")
    name = data.get("cmd")
    if not isinstance(name, str) or not name:
        raise InvalidCommand('command has no "cmd" (e.g. {"cmd": "tare"})')
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str | int):
        raise InvalidCommand('"id" must be a string')
    return Command(name, None if request_id is None else str(request_id), data)


def request_id_of(payload: bytes) -> str | None:
    """The ``id`` of a payload that failed to parse as a command, when one can be read."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str | int):
        return str(data["id"])
    return None
