"""Sync messages and their wire codec.

A message is canonical JSON, zlib-compressed when that pays. The first byte says
which: `J` plain, `Z` compressed. Anything else is rejected as malformed; so is a
payload that inflates past `MAX_INFLATED` (a zip bomb would otherwise eat the Pi).

    hello  {vv, links}     "this is what I hold", with the chain link at each head
                           (anti-entropy proof); sent on (re)connect and as heartbeat
    ops    {ops, more}     a page of ops, each origin's in seq order
    ack    {vv}            "I now hold this": the sender moves its outbox on
    need   {ranges}        "send me origin X seqs lo..hi": a gap I cannot skip

A hello or an ack also says, in `held`, what the sender holds past a gap: per origin,
the highest seq held (and the chain link there, as the held ops' pages said; "" when
not known). A node restored from a backup must not write under those seqs either. The
field is left out when nothing is held past a gap, so such messages are as before.

Control messages (hello, ack, need) are sealed (`seal`): they carry the sender's
session nonce `s` (new at each connect), a counter `n` that grows within it, `re` (the
receiver's nonce as the sender last heard it: proof the message is fresh, not a
replay from an earlier connection) and the sender's Ed25519 signature `sig` over the
rest. An ops page needs no seal: each op in it is signed by its origin.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sync_protocol.errors import InvalidOp, MalformedMessage
from sync_protocol.ops import Op, canonical_json
from sync_protocol.version_vector import VersionVector

# 2: control messages are sealed (a peer speaking 1 is refused as malformed). `held`
# came later within 2: it is covered by the seal like any field, and a peer that does
# not know it verifies the signature all the same (it signs what it received).
PROTOCOL_VERSION = 2
COMPRESS_ABOVE = 512
# A page is at most ~1 MB of ops (SessionConfig.page_bytes); more is not a page.
MAX_INFLATED = 4 * 1024 * 1024
MAX_NONCE = 64


@dataclass(frozen=True)
class Seal:
    """Who sent a control message in which connection, and its signature."""

    session: str  # the sender's nonce for this connection
    counter: int  # grows with every sealed message in that connection
    re: str | None  # the receiver's nonce, as the sender last heard it
    sig: bytes = field(default=b"", compare=False)
    # The bytes the signature covers, as received (canonical JSON without `sig`).
    signed: bytes = field(default=b"", compare=False, repr=False)


# origin -> (highest seq held past a gap, chain link there or "" when not known)
PastGaps = dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Hello:
    sender: str
    vv: VersionVector
    links: dict[str, str] = field(default_factory=dict)  # origin -> chain link at vv[origin]
    seal: Seal | None = None
    held: PastGaps = field(default_factory=dict)


@dataclass(frozen=True)
class Ack:
    sender: str
    vv: VersionVector
    seal: Seal | None = None
    held: PastGaps = field(default_factory=dict)


@dataclass(frozen=True)
class Need:
    sender: str
    ranges: dict[str, tuple[int, int]]
    seal: Seal | None = None


@dataclass(frozen=True)
class OpsPage:
    sender: str
    ops: list[Op]
    more: bool = False
    # Ops of the page that failed envelope validation; kept so the receiver can record
    # them instead of losing the whole page to one bad op.
    invalid: list[tuple[dict[str, Any] | None, str]] = field(default_factory=list)
    # The chain link before the page's first op of each origin: the receiver checks its
    # own history of that origin ends there.
    after: dict[str, str] = field(default_factory=dict)
    # The sender's connection nonce (not sealed: the ops are signed one by one).
    nonce: str | None = None
    # For the sender's own ops: its signature over the chain link at its last op here
    # (sync_protocol.chain.proof_bytes), one check for the page instead of one per op.
    proof: dict[str, bytes] = field(default_factory=dict)


Message = Hello | Ack | Need | OpsPage
Control = Hello | Ack | Need


class Signer(Protocol):
    def sign_bytes(self, data: bytes) -> bytes: ...


def seal(msg: Control, signer: Signer, *, session: str, counter: int, re: str | None) -> Control:
    """`msg` signed by its sender, in its connection `session`."""
    unsigned = Seal(session, counter, re)
    signed = canonical_json(_payload(replace(msg, seal=unsigned)))
    return replace(msg, seal=replace(unsigned, sig=signer.sign_bytes(signed), signed=signed))


def _payload(msg: Message) -> dict[str, Any]:
    payload: dict[str, Any]
    if isinstance(msg, Hello):
        payload = {"t": "hello", "vv": msg.vv, "links": msg.links, **_held(msg)}
    elif isinstance(msg, Ack):
        payload = {"t": "ack", "vv": msg.vv, **_held(msg)}
    elif isinstance(msg, Need):
        payload = {"t": "need", "ranges": {o: list(r) for o, r in msg.ranges.items()}}
    else:
        payload = {"t": "ops", "ops": [op.to_wire() for op in msg.ops], "more": msg.more}
        payload.update(after=msg.after, s=msg.nonce)
        if msg.proof:
            payload["proof"] = {
                o: base64.b64encode(p).decode("ascii") for o, p in msg.proof.items()
            }
    payload["p"] = PROTOCOL_VERSION
    payload["from"] = msg.sender
    if not isinstance(msg, OpsPage) and msg.seal is not None:
        payload.update(s=msg.seal.session, n=msg.seal.counter, re=msg.seal.re)
    return payload


def _held(msg: Hello | Ack) -> dict[str, Any]:
    """`held`, left out when nothing is held past a gap (such messages are as before)."""
    if not msg.held:
        return {}
    return {"held": {o: [seq, link] for o, (seq, link) in msg.held.items()}}


def encode(msg: Message) -> bytes:
    payload = _payload(msg)
    if not isinstance(msg, OpsPage) and msg.seal is not None and msg.seal.sig:
        payload["sig"] = base64.b64encode(msg.seal.sig).decode("ascii")
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
    if kind == "hello":
        held = _past_gaps(obj.get("held"))
        return Hello(sender, _vv(obj.get("vv")), _links(obj.get("links")), _seal(obj), held)
    if kind == "ack":
        return Ack(sender, _vv(obj.get("vv")), _seal(obj), _past_gaps(obj.get("held")))
    if kind == "need":
        return Need(sender, _ranges(obj.get("ranges")), _seal(obj))
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
        nonce = obj.get("s")
        if nonce is not None and (not isinstance(nonce, str) or len(nonce) > MAX_NONCE):
            raise MalformedMessage("ops page with a bad connection nonce")
        return OpsPage(
            sender,
            ops,
            obj.get("more") is True,
            invalid,
            _links(obj.get("after")),
            nonce,
            _proof(obj.get("proof")),
        )
    raise MalformedMessage(f"unknown message type {kind!r}")


def _seal(obj: dict[str, Any]) -> Seal | None:
    """The seal of a control message, or None when it has none (the session refuses
    it then: a missing seal is the receiver's business, not a malformed message)."""
    sig_text = obj.pop("sig", None)
    if sig_text is None:
        return None
    session, counter, re = obj.get("s"), obj.get("n"), obj.get("re")
    if not isinstance(session, str) or not 0 < len(session) <= MAX_NONCE:
        raise MalformedMessage("sealed message without its session nonce")
    if not isinstance(counter, int) or isinstance(counter, bool) or counter < 0:
        raise MalformedMessage("sealed message without its counter")
    if re is not None and (not isinstance(re, str) or len(re) > MAX_NONCE):
        raise MalformedMessage("sealed message with a bad `re`")
    try:
        if not isinstance(sig_text, str):
            raise ValueError("not text")
        sig = base64.b64decode(sig_text, validate=True)
    except ValueError as exc:
        raise MalformedMessage(f"signature is not base64: {exc}") from exc
    return Seal(session, counter, re, sig, canonical_json(obj))


def _proof(value: Any) -> dict[str, bytes]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise MalformedMessage("page proof is not an object of signatures")
    try:
        return {str(o): base64.b64decode(p, validate=True) for o, p in value.items()}
    except ValueError as exc:
        raise MalformedMessage(f"page proof is not base64: {exc}") from exc


def _links(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and len(v) <= 64 for v in value.values()
    ):
        raise MalformedMessage("chain links are not an object of links")
    return {str(k): v for k, v in value.items()}


def _past_gaps(value: Any) -> PastGaps:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedMessage("what is held past a gap is not an object")
    out: PastGaps = {}
    for origin, pair in value.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], int)
            or isinstance(pair[0], bool)
            or pair[0] < 1
            or not isinstance(pair[1], str)
            or len(pair[1]) > 64
        ):
            raise MalformedMessage(f"bad entry held past a gap for {origin!r}")
        out[str(origin)] = (pair[0], pair[1])
    return out


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
