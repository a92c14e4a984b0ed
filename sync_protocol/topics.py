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


# --- among the hub's workers (docs/hub-workers.md); nodes may not publish here ---------


def forwarded_up(tenant: str, worker: str, node: str) -> str:
    """A node's message that reached a worker which does not run its session, passed on
    to the worker that does."""
    return f"sf/{tenant}/hub/{worker}/node/{node}/up"


def worker_inbox(tenant: str, worker: str) -> str:
    """What a worker subscribes to for the messages passed on to it."""
    return f"sf/{tenant}/hub/{worker}/node/+/up"


def forwarded_node(topic: str) -> str | None:
    """The node id in a `forwarded_up` topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[0] == "sf" and parts[2] == "hub" and parts[4] == "node":
        return parts[5] or None
    return None


def hub_wake(tenant: str) -> str:
    """A worker wrote ops of the hub's own (catalog…): every worker relays them now to
    the nodes whose sessions it runs."""
    return f"sf/{tenant}/hub/wake"


def worker_status(tenant: str, worker: str) -> str:
    """A hub worker's retained presence, `online`/`offline` (the offline one its Last
    Will): how the workers know which of them are alive to serve nodes."""
    return f"sf/{tenant}/hub/{worker}/status"


def all_worker_status(tenant: str) -> str:
    return f"sf/{tenant}/hub/+/status"


def worker_of_status(topic: str) -> str | None:
    """The worker id in a `worker_status` topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "sf" and parts[2] == "hub" and parts[4] == "status":
        return parts[3] or None
    return None
