"""Sync messages and their wire codec.

A message is canonical JSON, zlib-compressed when that pays. The first byte says
which: `J` plain, `Z` compressed. Anything else is rejected as malformed; so is a
payload that inflates past `MAX_INFLATED` (a zip bomb would otherwise eat the Pi).

    hello  {vv}            "this is what I hold"; sent on (re)connect and as heartbeat
    ops    {ops, more}     a page of ops, each origin's in seq order
    ack    {vv}            "I now hold this": the sender moves its outbox on
    need   {ranges}        "send me origin X seqs lo..hi": a gap I cannot skip
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from sync_protocol.errors import InvalidOp, MalformedMessage
from sync_protocol.ops import Op, canonical_json
from sync_protocol.version_vector import VersionVector

PROTOCOL_VERSION = 1
COMPRESS_ABOVE = 512
MAX_INFLATED = 64 * 1024 * 1024


@dataclass(frozen=True)
class Hello:
    sender: str
    vv: VersionVector


@dataclass(frozen=True)
class Ack:
    sender: str
    vv: VersionVector


@dataclass(frozen=True)
class Need:
    sender: str
    ranges: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class OpsPage:
    sender: str
    ops: list[Op]
    more: bool = False
    # Ops of the page that failed envelope validation; kept so the receiver can record
    # them instead of losing the whole page to one bad op.
    invalid: list[tuple[dict[str, Any] | None, str]] = field(default_factory=list)


Message = Hello | Ack | Need | OpsPage


def encode(msg: Message) -> bytes:
    payload: dict[str, Any]
    if isinstance(msg, Hello):
        payload = {"t": "hello", "vv": msg.vv}
    elif isinstance(msg, Ack):
        payload = {"t": "ack", "vv": msg.vv}
    elif isinstance(msg, Need):
        payload = {"t": "need", "ranges": {o: list(r) for o, r in msg.ranges.items()}}
    else:
        payload = {"t": "ops", "ops": [op.to_wire() for op in msg.ops], "more": msg.more}
    payload["p"] = PROTOCOL_VERSION
    payload["from"] = msg.sender
    raw = canonical_json(payload)
    if len(raw) > COMPRESS_ABOVE:
        return b"Z" + zlib.compress(raw, 6)
    return b"J" + raw


def decode(data: bytes) -> Message:
    if not data:
        raise MalformedMessage("empty payload")
    tag, body = data[:1], data[1:]
    if tag == b"Z":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, MAX_INFLATED)
        except zlib.error as exc:
            raise MalformedMessage(f"bad zlib data: {exc}") from exc
        if inflater.unconsumed_tail:
            raise MalformedMessage("payload inflates past the size limit")
    elif tag != b"J":
        raise MalformedMessage(f"unknown payload tag {tag!r}")
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedMessage("message is not an object")
    if obj.get("p") != PROTOCOL_VERSION:
        raise MalformedMessage(f"unsupported protocol version {obj.get('p')!r}")
    sender = obj.get("from")
    if not isinstance(sender, str) or not sender:
        raise MalformedMessage("message lacks its sender")
    kind = obj.get("t")
    if kind in ("hello", "ack"):
        vv = _vv(obj.get("vv"))
        return Hello(sender, vv) if kind == "hello" else Ack(sender, vv)
    if kind == "need":
        return Need(sender, _ranges(obj.get("ranges")))
    if kind == "ops":
        raw_ops = obj.get("ops")
        if not isinstance(raw_ops, list):
            raise MalformedMessage("ops page without a list of ops")
        ops: list[Op] = []
        invalid: list[tuple[dict[str, Any] | None, str]] = []
        for raw_op in raw_ops:
            try:
                ops.append(Op.from_wire(raw_op))
            except InvalidOp as exc:
                invalid.append((raw_op if isinstance(raw_op, dict) else None, str(exc)))
        return OpsPage(sender, ops, bool(obj.get("more", False)), invalid)
    raise MalformedMessage(f"unknown message type {kind!r}")


def _vv(value: Any) -> VersionVector:
    if not isinstance(value, dict):
        raise MalformedMessage("version vector is not an object")
    out: VersionVector = {}
    for origin, seq in value.items():
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise MalformedMessage(f"version vector entry {origin!r} is not a seq")
        out[str(origin)] = seq
    return out


def _ranges(value: Any) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        raise MalformedMessage("need without ranges")
    out: dict[str, tuple[int, int]] = {}
    for origin, pair in value.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
            or not 1 <= pair[0] <= pair[1]
        ):
            raise MalformedMessage(f"bad range for {origin!r}")
        out[str(origin)] = (pair[0], pair[1])
    return out
