"""MQTT topic names (DESIGN §4). One place builds and parses them."""

from __future__ import annotations

from dataclasses import dataclass

HUB_SHARE_GROUP = "hub"


@dataclass(frozen=True)
class NodeTopics:
    tenant: str
    node: str

    @property
    def up(self) -> str:
        """node → hub: hello, ops pages, acks of down pages."""
        return f"sf/{self.tenant}/node/{self.node}/up"

    @property
    def down(self) -> str:
        """hub → node: hello, ops pages."""
        return f"sf/{self.tenant}/node/{self.node}/down"

    @property
    def ack(self) -> str:
        """hub → node: acks of the node's pages."""
        return f"sf/{self.tenant}/node/{self.node}/ack"

    @property
    def status(self) -> str:
        """Retained presence, `online`/`offline`; the offline one is the Last Will."""
        return f"sf/{self.tenant}/node/{self.node}/status"


def all_up(tenant: str, *, shared: bool) -> str:
    topic = f"sf/{tenant}/node/+/up"
    # A shared subscription spreads nodes' messages over several hub workers.
    return f"$share/{HUB_SHARE_GROUP}/{topic}" if shared else topic


def all_status(tenant: str) -> str:
    return f"sf/{tenant}/node/+/status"


def node_of(topic: str) -> str | None:
    """The node id in `sf/{tenant}/node/{node}/…`, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "sf" and parts[2] == "node" and parts[3]:
        return parts[3]
    return None
