"""The op: an immutable, signed fact, and its canonical encoding.

The canonical form is JSON with sorted keys, no insignificant whitespace and UTF-8
text (Chinese stays Chinese). It is what is signed, so any two implementations that
agree on it agree on signatures. `f` is the envelope format version.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from sync_protocol.errors import InvalidOp

ENVELOPE_FORMAT = 1
MAX_ID_LEN = 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Op:
    origin: str
    seq: int
    hlc: int
    kind: str
    v: int
    actor: str
    body: dict[str, Any]
    sig: bytes = b""
    # The canonical envelope, made once: a received op's is needed for its signature, its
    # chain link and the page proof, and encoding it is most of what ingest costs.
    _signing: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> tuple[str, int]:
        return (self.origin, self.seq)

    def _envelope(self) -> dict[str, Any]:
        return {
            "f": ENVELOPE_FORMAT,
            "origin": self.origin,
            "seq": self.seq,
            "hlc": self.hlc,
            "kind": self.kind,
            "v": self.v,
            "actor": self.actor,
            "body": self.body,
        }

    def signing_bytes(self) -> bytes:
        """What the signature covers: the whole envelope but the signature."""
        if self._signing is None:
            object.__setattr__(self, "_signing", canonical_json(self._envelope()))
            assert self._signing is not None
        return self._signing

    def body_json(self) -> bytes:
        """The body's canonical JSON, cut from the canonical envelope instead of encoded
        a second time. Keys are sorted, so the envelope reads `{"actor":…,"body":BODY,
        "f":…`; the last `,"f":` is the one after the body, because a quote inside any
        JSON string is escaped and the fields after the body are numbers and ids."""
        signed = self.signing_bytes()
        start = len(b'{"actor":') + len(canonical_json(self.actor)) + len(b',"body":')
        return signed[start : signed.rindex(b',"f":')]

    def to_wire(self) -> dict[str, Any]:
        return {**self._envelope(), "sig": base64.b64encode(self.sig).decode("ascii")}

    @classmethod
    def from_wire(cls, data: Any) -> Op:
        """Parse and validate an op's envelope (not its signature, and not its body:
        the body is checked against its kind by the store's registry)."""
        if not isinstance(data, dict):
            raise InvalidOp("op is not an object", message_zh="操作格式错误")
        try:
            f = data["f"]
            origin, seq, hlc = data["origin"], data["seq"], data["hlc"]
            kind, v, actor = data["kind"], data["v"], data["actor"]
            body, sig_text = data["body"], data["sig"]
        except KeyError as exc:
            raise InvalidOp(f"op lacks field {exc.args[0]!r}", message_zh="操作缺少字段") from exc
        if f != ENVELOPE_FORMAT:
            raise InvalidOp(f"unsupported envelope format {f!r}", message_zh="不支持的操作格式")
        _check_id("origin", origin)
        _check_id("actor", actor, allow_empty=True)
        for name, value in (("seq", seq), ("hlc", hlc), ("v", v)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidOp(f"{name} must be a positive integer", message_zh="操作序号无效")
        if not isinstance(kind, str) or not kind or len(kind) > MAX_ID_LEN:
            raise InvalidOp("kind must be a short string", message_zh="操作类型无效")
        if not isinstance(body, dict):
            raise InvalidOp("body must be an object", message_zh="操作内容无效")
        if not isinstance(sig_text, str):
            raise InvalidOp("sig must be base64 text", message_zh="签名格式错误")
        try:
            sig = base64.b64decode(sig_text, validate=True)
        except ValueError as exc:
            raise InvalidOp("sig is not base64", message_zh="签名格式错误") from exc
        return cls(origin, seq, hlc, kind, v, actor, body, sig)


def _check_id(name: str, value: Any, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or len(value) > MAX_ID_LEN or (not value and not allow_empty):
        raise InvalidOp(f"{name} must be a string of at most {MAX_ID_LEN} characters")
