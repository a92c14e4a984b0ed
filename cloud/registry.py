"""The registry of nodes allowed to sync: their public keys and names."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import BusinessRuleError
from sync_protocol.origins import HUB
from sync_protocol.store import ReplicaStore


@dataclass(frozen=True)
class EnrolledNode:
    node_id: str
    label: str


def enroll_node(
    store: ReplicaStore, node_id: str, public_key_b64: str, label: str = ""
) -> EnrolledNode:
    """Allow a node to sync: its ops will verify against this key."""
    if node_id in (HUB, "hub"):
        # The hub's op origin and its broker identity: a node so named gets its rights.
        raise BusinessRuleError(
            f"{node_id!r} is reserved for the hub", message_zh=f"节点编号 {node_id} 为总部保留"
        )
    store.enroll(node_id, public_key_b64, label=label or node_id)
    return EnrolledNode(node_id, label or node_id)


def enrolled_nodes(store: ReplicaStore) -> list[EnrolledNode]:
    return [
        EnrolledNode(origin, label or origin) for origin, label in store.enrolled() if origin != HUB
    ]
