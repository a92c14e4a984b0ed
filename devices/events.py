"""Device-event schemas: the frozen snapshots drivers hand to the rest of the system.

Every event turns into a plain JSON dict with ``type``, ``device`` and ``ts`` (ISO-8601,
UTC) and back again; ``event_from_json`` picks the class from ``type``. To add an event
(e.g. the printer's ``PrintJobStatus``), define a frozen slotted dataclass with a ``TYPE``
class variable that derives from ``_JsonEvent`` (which gives it ``to_json`` and
``from_json``), and add it to ``EVENT_TYPES``.

Weights are integers in grams (house rule: integers for money and weight).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from types import UnionType
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

from devices.errors import InvalidEvent

DeviceState = Literal["online", "offline", "error"]
JsonDict = dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _check_ts(ts: datetime) -> datetime:
    if not isinstance(ts, datetime) or ts.tzinfo is None:
        raise InvalidEvent(f"ts must be a timezone-aware datetime, got {ts!r}")
    return ts.astimezone(UTC)


def _ts_to_json(ts: datetime) -> str:
    return ts.isoformat()


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in data:
        raise InvalidEvent(f"missing field {name!r} in {dict(data)!r}")
    value = data[name]
    # bool is an int in Python; a weight of True grams is a bug, not a weight.
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise InvalidEvent(f"field {name!r} must be {kind}, got bool")
    if not isinstance(value, kind):
        raise InvalidEvent(f"field {name!r} must be {kind}, got {type(value).__name__}")
    return value


def _parse_ts(data: Mapping[str, Any]) -> datetime:
    raw = _field(data, "ts", str)
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidEvent(f"ts is not ISO-8601: {raw!r}") from exc
    return _check_ts(ts)


def _expect_type(data: Mapping[str, Any], expected: str) -> None:
    if not isinstance(data, Mapping):
        raise InvalidEvent(f"event must be a JSON object, got {type(data).__name__}")
    if data.get("type") != expected:
        raise InvalidEvent(f"expected type {expected!r}, got {data.get('type')!r}")


class _JsonEvent:
    """JSON of an event, from its dataclass fields: `type` plus every field, `ts` as
    ISO-8601 UTC. Reading checks each field against its annotation (a bool is not an
    int; `X | None` admits null; a Literal is checked by the class itself)."""

    __slots__ = ()
    TYPE: ClassVar[str]

    def to_json(self) -> JsonDict:
        out: JsonDict = {"type": self.TYPE}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = _ts_to_json(value) if f.name == "ts" else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        _expect_type(data, cls.TYPE)
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name == "ts":
                values["ts"] = _parse_ts(data)
            else:
                values[f.name] = _field(data, f.name, _runtime_kind(hints[f.name]))
        return cls(**values)


def _runtime_kind(hint: Any) -> type | tuple[type, ...]:
    if get_origin(hint) is Literal:
        return tuple({type(arg) for arg in get_args(hint)})
    if isinstance(hint, UnionType) or get_origin(hint) is Union:
        return tuple(arg for arg in get_args(hint))
    return hint  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ScanEvent(_JsonEvent):
    """One barcode read: the decoded text, without the scanner's suffix (Enter, Tab)."""

    TYPE: ClassVar[str] = "scan"
    device: str
    code: str
    symbology_hint: str | None
    ts: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _check_ts(self.ts))


@dataclass(frozen=True, slots=True)
class WeightEvent(_JsonEvent):
    """A weight as the scale shows it (net when a tare is set), with its stability.

    ``grams`` means nothing while ``overload`` or ``underload`` is set (it is then 0 or
    the last figure the scale sent); ``tare_grams`` is 0 when no tare is known.
    """

    TYPE: ClassVar[str] = "weight"
    device: str
    grams: int
    stable: bool
    tare_grams: int
    overload: bool
    underload: bool
    ts: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _check_ts(self.ts))


@dataclass(frozen=True, slots=True)
class DeviceStatus(_JsonEvent):
    """Whether a device is usable; the agent publishes it retained (and as its Last Will)."""

    TYPE: ClassVar[str] = "device_status"
    device: str
    state: DeviceState
    model: str
    port: str
    detail: str
    ts: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if self.state not in get_args(DeviceState):
            raise InvalidEvent(f"state must be one of {get_args(DeviceState)}, got {self.state!r}")
        object.__setattr__(self, "ts", _check_ts(self.ts))


@dataclass(frozen=True, slots=True)
class PrintJobStatus(_JsonEvent):
    """A print job changed state on a printer's queue (queued, printed, retrying, cancelled).

    ``job_id`` is the id in that printer's durable queue; ``last_error`` says why a job
    waits (printer unreachable, no paper) and is None once it printed.
    """

    TYPE: ClassVar[str] = "print_job"
    device: str
    job_id: int
    state: str
    description: str
    attempts: int
    last_error: str | None
    ts: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _check_ts(self.ts))


@dataclass(frozen=True, slots=True)
class CommandResult(_JsonEvent):
    """The answer to one command sent on ``sf/dev/{device}/cmd``.

    ``command`` is the ``cmd`` field as received (``"?"`` when the payload had none);
    ``request_id`` echoes the command's ``id`` so a sender can match answers; ``ok`` is
    False for unknown, malformed, unsupported or failed commands, with ``detail`` saying
    why and what to do. ``job_id`` is set when a print command queued a job.
    """

    TYPE: ClassVar[str] = "command_result"
    device: str
    command: str
    request_id: str | None
    ok: bool
    detail: str
    job_id: int | None = None
    ts: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _check_ts(self.ts))


DeviceEvent = ScanEvent | WeightEvent | DeviceStatus | PrintJobStatus | CommandResult

EVENT_TYPES: dict[
    str,
    type[ScanEvent]
    | type[WeightEvent]
    | type[DeviceStatus]
    | type[PrintJobStatus]
    | type[CommandResult],
] = {
    ScanEvent.TYPE: ScanEvent,
    WeightEvent.TYPE: WeightEvent,
    DeviceStatus.TYPE: DeviceStatus,
    PrintJobStatus.TYPE: PrintJobStatus,
    CommandResult.TYPE: CommandResult,
}


def event_from_json(data: Mapping[str, Any]) -> DeviceEvent:
    """Rebuild any device event from its JSON dict; raises InvalidEvent for bad payloads."""
    if not isinstance(data, Mapping):
        raise InvalidEvent(f"event must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidEvent(f"unknown event type {kind!r}")
    return cls.from_json(data)
