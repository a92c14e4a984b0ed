"""A node proves who it is to the hub's HTTP API with the key that signs its ops: the
header `X-Shopfloor-Node-Proof: <node>.<ms>.<signature>` signs the request's method,
path and query and the time. The hub checks it against the node's enrolled key and a
window of a few minutes, so a snapshot (a node's sales, its staff's PIN hashes) goes to
that node only, with no password or token to provision beside the key it already has."""

from __future__ import annotations

import base64
from typing import Final

from sync_protocol.errors import Forbidden, SignatureRejected, Unauthenticated
from sync_protocol.ops import canonical_json
from sync_protocol.signing import KeyRing, NodeKey

HEADER: Final = "X-Shopfloor-Node-Proof"
WINDOW_MS: Final = 5 * 60_000  # clocks of a node and the hub may differ by minutes


def _signed(node_id: str, request: str, at_ms: int) -> bytes:
    return canonical_json(["shopfloor-node-request", node_id, request, at_ms])


def node_proof(key: NodeKey, node_id: str, request: str, *, at_ms: int) -> str:
    """The header value proving `node_id` asked for `request` ("GET /path?query")."""
    sig = base64.urlsafe_b64encode(key.sign_bytes(_signed(node_id, request, at_ms))).decode()
    return f"{node_id}.{at_ms}.{sig}"


def check_node_proof(
    header: str | None, keys: KeyRing, *, node_id: str, request: str, now_ms: int
) -> None:
    """Unauthenticated unless `header` is `node_id`'s fresh signature over `request`;
    Forbidden when another enrolled node signed it."""
    if not header:
        raise Unauthenticated(
            f"the request needs the node's signed proof ({HEADER})",
            message_zh="请求缺少节点签名证明",
        )
    try:
        signer, at_text, sig_text = header.split(".", 2)
        at_ms = int(at_text)
        sig = base64.urlsafe_b64decode(sig_text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise Unauthenticated(
            "the node proof is malformed", message_zh="节点签名证明格式错误"
        ) from exc
    if abs(now_ms - at_ms) > WINDOW_MS:
        raise Unauthenticated(
            "the node proof is too old or from the future: check the node's clock",
            message_zh="节点签名证明已过期或时间不符：请检查节点时钟",
        )
    try:
        keys.verify_bytes(signer, _signed(signer, request, at_ms), sig)
    except SignatureRejected as exc:
        raise Unauthenticated(
            "the node proof does not verify", message_zh="节点签名证明无效"
        ) from exc
    if signer != node_id:
        raise Forbidden(
            f"{signer} may not ask for {node_id}'s data",
            message_zh=f"{signer} 无权获取 {node_id} 的数据",
        )
