"""A node's presence on its retained `status` topic, signed by the node.

`{"node", "state": "online"|"offline", "at", "sig"}`; the signature covers the rest
(canonical JSON) with the node's op key. The offline one is also the connection's Last
Will, made (and signed) when the link is built. Presence is advisory (the hub greets a
node it sees come online, and stops its session when it goes), so a replayed old one
costs at most a greeting; an unsigned or forged one is refused with an incident.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Literal

from sync_protocol.errors import MalformedMessage, SignatureRejected
from sync_protocol.messages import Signer
from sync_protocol.ops import canonical_json
from sync_protocol.signing import KeyRing

State = Literal["online", "offline"]
MAX_PRESENCE_BYTES = 1024


def presence(signer: Signer, node: str, state: State, *, at: float | None = None) -> bytes:
    body = {"node": node, "state": state, "at": round(at if at is not None else time.time(), 3)}
    sig = signer.sign_bytes(canonical_json(body))
    return canonical_json({**body, "sig": base64.b64encode(sig).decode("ascii")})


def read_presence(payload: bytes, node: str, keys: KeyRing) -> State:
    """The state `node` signed, or MalformedMessage / SignatureRejected."""
    if len(payload) > MAX_PRESENCE_BYTES:
        raise MalformedMessage("presence is too long")
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"presence is not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedMessage("presence is not an object")
    state, sig_text = obj.get("state"), obj.pop("sig", None)
    if state not in ("online", "offline"):
        raise MalformedMessage(f"unknown presence state {state!r}")
    if obj.get("node") != node:
        raise SignatureRejected(f"presence for {obj.get('node')!r} on node {node!r}'s topic")
    if not isinstance(sig_text, str):
        raise SignatureRejected("unsigned presence")
    try:
        sig = base64.b64decode(sig_text, validate=True)
    except ValueError as exc:
        raise MalformedMessage("presence signature is not base64") from exc
    keys.verify_bytes(node, canonical_json(obj), sig)
    return "online" if state == "online" else "offline"
