"""Ed25519 keys of nodes and the hub, signing and verifying ops."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync_protocol.errors import SignatureRejected
from sync_protocol.files import write_secret
from sync_protocol.ops import Op


@dataclass(frozen=True)
class NodeKey:
    """The private half of a node's identity."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> NodeKey:
        """Keep the key across restarts: a node that changed keys would be rejected."""
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 key")
            return cls(loaded)
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_secret(path, pem)
        return key

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def sign(self, op: Op) -> Op:
        return replace(op, sig=self.private.sign(op.signing_bytes()))

    def sign_bytes(self, data: bytes) -> bytes:
        """A signature over `data` (a sealed sync message)."""
        return self.private.sign(data)


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SignatureRejected(f"not an Ed25519 public key: {text[:16]}…") from exc


class KeyRing:
    """Public keys by origin: who may author ops."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for origin, b64 in (keys or {}).items():
            self.add(origin, b64)

    def add(self, origin: str, public_b64: str) -> None:
        self._keys[origin] = public_key_from_b64(public_b64)

    def __contains__(self, origin: object) -> bool:
        return origin in self._keys

    def verify_bytes(self, origin: str, data: bytes, sig: bytes) -> None:
        """`data` was signed by `origin` (a sealed sync message), or SignatureRejected."""
        key = self._keys.get(origin)
        if key is None:
            raise SignatureRejected(
                f"no enrolled key for {origin!r}", message_zh=f"节点 {origin} 未登记"
            )
        try:
            key.verify(sig, data)
        except InvalidSignature as exc:
            raise SignatureRejected(
                f"the seal of a message from {origin!r} does not verify",
                message_zh=f"来自 {origin} 的消息签名无效",
            ) from exc

    def verify(self, op: Op) -> None:
        key = self._keys.get(op.origin)
        if key is None:
            raise SignatureRejected(
                f"no enrolled key for origin {op.origin!r}",
                message_zh=f"节点 {op.origin} 未登记",
            )
        try:
            key.verify(op.sig, op.signing_bytes())
        except InvalidSignature as exc:
            raise SignatureRejected(
                f"signature of op {op.origin}/{op.seq} does not verify",
                message_zh=f"操作 {op.origin}/{op.seq} 签名无效",
            ) from exc
