"""Hub ingest: one MQTT link, one sync session per node, one pump thread.

Nodes publish on `sf/{tenant}/node/{node}/up`; the hub subscribes with a shared
subscription (`$share/hub/…`) so several hub workers split the load, each keeping its
own sessions while the database holds the state they share (ops, heads, what each
node acknowledged). A message is only accepted on the topic of the node that sent it,
and an op only from the node that created it.
"""

from __future__ import annotations

import logging

from sync_protocol.errors import MalformedMessage, SignatureRejected
from sync_protocol.messages import Ack, Hello, Message, decode, encode
from sync_protocol.presence import read_presence
from sync_protocol.session import SessionConfig, SyncSession, only_from_origin
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import NodeTopics, all_status, all_up, node_of
from sync_protocol.transport.mqtt import (
    BrokerAddress,
    Connected,
    Disconnected,
    LinkEvent,
    MqttLink,
    Received,
    Wake,
)
from sync_protocol.transport.pump import LinkPump

log = logging.getLogger(__name__)

HUB = "cloud"

GREET_AFTER = 1.0
"""Seconds a node may be online (its presence says so) without saying hello before the
hub greets it: its hello may have gone out before the hub (re)subscribed, e.g. right
after a broker restart, and without a greeting the hub would only learn it is back at
its next heartbeat."""


class HubIngest:
    def __init__(
        self,
        store: ReplicaStore,
        tenant: str,
        broker: BrokerAddress,
        *,
        shared: bool = True,
        worker_id: str = "1",
        config: SessionConfig | None = None,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.shared = shared and broker.protocol == "5"
        self.config = config
        self.sessions: dict[str, SyncSession] = {}
        # Nodes whose presence says online but that have not spoken yet, and since when.
        self._unheard: dict[str, float] = {}
        self.link = MqttLink(f"sf-{tenant}-hub-{worker_id}", broker)
        self._pump = LinkPump(self.link, name="hub-ingest", handle=self._handle, tick=self._tick)

    def start(self) -> None:
        self._pump.start()

    def stop(self) -> None:
        self._pump.stop()
        self.link.stop()

    def notify(self) -> None:
        """The hub wrote ops of its own (catalog…): relay them now."""
        self.link.wake("local")

    @property
    def connected(self) -> bool:
        return self.link.is_connected

    def stats(self) -> dict[str, int]:
        """What this worker has done since it started (each worker counts its own)."""
        sessions = list(self.sessions.values())
        return {
            "sessions": len(sessions),
            "ops_received": sum(s.stats.ops_received for s in sessions),
            "ops_applied": sum(s.stats.ops_applied for s in sessions),
            "duplicates": sum(s.stats.duplicates for s in sessions),
            "rejected": sum(s.stats.rejected for s in sessions),
            "pages_sent": sum(s.stats.pages_sent for s in sessions),
        }

    # --- the pump ----------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        for node, since in list(self._unheard.items()):
            session = self.sessions.get(node)
            if session is None or session.connected:
                del self._unheard[node]
            elif now - since >= GREET_AFTER:
                del self._unheard[node]
                self._send(node, session.connect(now))
        for node, session in list(self.sessions.items()):
            self._send(node, session.tick(now))

    def _handle(self, event: LinkEvent, now: float) -> None:
        if isinstance(event, Connected):
            self.link.subscribe(all_up(self.tenant, shared=self.shared))
            self.link.subscribe(all_status(self.tenant))
        elif isinstance(event, Disconnected):
            self._unheard.clear()
            for session in self.sessions.values():
                session.disconnect()
        elif isinstance(event, Wake):
            for name, session in list(self.sessions.items()):
                self._send(name, session.local_changes(now))
        elif isinstance(event, Received):
            sender = node_of(event.topic)
            if sender is None:
                return
            if event.topic.endswith("/status"):
                self._presence(sender, event.payload, now)
            elif event.topic.endswith("/up"):
                self._from_node(sender, event.payload, now)

    def _session(self, node: str) -> SyncSession | None:
        session = self.sessions.get(node)
        if session is None:
            if node not in self.store.keyring():
                return None
            session = SyncSession(
                self.store,
                node,
                offer={HUB, node},
                accept=only_from_origin(node),
                config=self.config,
            )
            self.sessions[node] = session
        return session

    def _from_node(self, node: str, payload: bytes, now: float) -> None:
        try:
            msg = decode(payload)
        except MalformedMessage as exc:
            self._reject(node, f"malformed message: {exc}", payload, now)
            return
        if msg.sender != node:
            self._reject(
                node,
                f"message signed off as {msg.sender!r} on node {node!r}'s topic",
                payload,
                now,
                kind="wrong_sender",
            )
            return
        session = self._session(node)
        if session is None:
            self._reject(node, f"node {node!r} is not enrolled", payload, now, kind="not_enrolled")
            return
        out: list[Message] = []
        if not session.connected:
            # First word from this node since this worker started (or since its Last
            # Will). A hello from it is answered by our ack; anything else gets a hello
            # of ours, since it may have missed our ops while we were apart. (A hello
            # answered with a hello would make it resend the page it has in flight.)
            out = session.connect(now)
            if isinstance(msg, Hello):
                out = []
        self._send(node, [*out, *session.receive(msg, now)])

    def _presence(self, node: str, payload: bytes, now: float) -> None:
        if not payload:
            return  # a retained status cleared
        keys = self.store.keyring()
        if node not in keys:
            return
        try:
            state = read_presence(payload, node, keys)
        except (MalformedMessage, SignatureRejected) as exc:
            self._reject(node, f"presence refused: {exc}", payload, now, kind="bad_presence")
            return
        self.store.save_peer(node, connected=state == "online", seen_ms=int(now * 1000))
        session = self._session(node)
        if session is None:
            return
        if state == "offline":
            self._unheard.pop(node, None)
            session.disconnect()
        elif not session.connected:
            self._unheard.setdefault(node, now)

    def _reject(
        self, node: str, reason: str, payload: bytes, now: float, *, kind: str = "malformed"
    ) -> None:
        log.warning("hub ingest rejected a message on node %s's topic: %s", node, reason)
        self.store.record_incident(
            disposition="rejected",
            kind=kind,
            reason=reason,
            peer=node,
            payload=payload[:500].hex(),
            at_ms=int(now * 1000),
        )

    def _send(self, node: str, messages: list[Message]) -> None:
        topics = NodeTopics(self.tenant, node)
        for msg in messages:
            self.link.publish(topics.ack if isinstance(msg, Ack) else topics.down, encode(msg))
