"""The node's sync agent: one thread that pumps the sync session over MQTT.

paho's network thread only enqueues (see sync_protocol.transport.mqtt); this thread
takes events off the queue, feeds the session, publishes what it returns, and ticks
it for resends and heartbeats. Services call `notify()` after writing ops so they go
out at once instead of at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sync_protocol.errors import MalformedMessage
from sync_protocol.messages import Ack, Message, decode, encode
from sync_protocol.origins import HUB
from sync_protocol.presence import State, presence
from sync_protocol.session import SessionConfig, SyncSession, only_from
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import NodeTopics
from sync_protocol.transport.mqtt import (
    BrokerAddress,
    Connected,
    Disconnected,
    LinkEvent,
    MqttLink,
    Received,
    Wake,
    Will,
)
from sync_protocol.transport.pump import LinkPump

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStatus:
    connected: bool
    ops_waiting: int
    last_ack_ms: int | None
    head: int
    rejected: int
    writes_held: bool


class SyncAgent:
    def __init__(
        self,
        ledger: ReplicaStore,
        tenant: str,
        broker: BrokerAddress,
        *,
        config: SessionConfig | None = None,
        on_reconciled: Callable[[], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self._on_reconciled = on_reconciled
        self.node = ledger.origin
        self.topics = NodeTopics(tenant, self.node)
        self.session = SyncSession(
            ledger, HUB, offer={self.node}, accept=only_from({HUB, self.node}), config=config
        )
        self.link = MqttLink(
            f"sf-{tenant}-{self.node}",
            broker,
            will=Will(self.topics.status, self._presence("offline")),
        )
        self._pump = LinkPump(
            self.link, name="sync-agent", handle=self._on_event, tick=self._on_tick
        )

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._pump.start()

    def stop(self) -> None:
        self._pump.stop()
        if self.link.is_connected:
            # A clean goodbye; the Last Will covers the unclean ones.
            self.link.publish(self.topics.status, self._presence("offline"), retain=True)
        self.link.stop()

    def notify(self) -> None:
        """New local ops are committed: send them now."""
        self.link.wake("local")

    def status(self) -> SyncStatus:
        peer = self.ledger.peer_state(HUB)
        return SyncStatus(
            connected=self.link.is_connected and self.session.connected,
            ops_waiting=self.session.unacked(),
            last_ack_ms=peer.last_ack_ms,
            head=self.ledger.head(self.node),
            rejected=self.session.stats.rejected,
            writes_held=self.ledger.local_writes_held is not None,
        )

    # --- the pump ----------------------------------------------------------------------

    def _on_event(self, event: LinkEvent, now: float) -> None:
        self._send(self._handle(event, now))
        if self.ledger.local_writes_held is not None:
            self._check_reconciled(now)

    def _on_tick(self, now: float) -> None:
        self._send(self.session.tick(now))

    def _check_reconciled(self, now: float) -> None:
        """A restored node may write again once it holds every op of its own that the
        hub holds, in order or past a gap: then its next seq is one nobody has used.
        Only the hub's fresh, sealed word counts (sent after this connection began): a
        forged or replayed hello must not end the hold. While the hub holds own ops past
        a gap this node cannot fill, the hold stays and an incident asks a person to
        decide (`SyncSession.reconcile_restore`)."""
        if self.session.reconcile_restore(now):
            head = self.ledger.head(self.node)
            log.warning("caught up on own ops from the hub (head %d); local writes resume", head)
            if self._on_reconciled is not None:
                self._on_reconciled()

    def _handle(self, event: LinkEvent, now: float) -> list[Message]:
        if isinstance(event, Connected):
            self.link.subscribe(self.topics.down)
            self.link.subscribe(self.topics.ack)
            self.link.publish(self.topics.status, self._presence("online"), retain=True)
            return self.session.connect(now)
        if isinstance(event, Disconnected):
            self.session.disconnect()
            return []
        if isinstance(event, Received):
            try:
                msg = decode(event.payload)
            except MalformedMessage as exc:
                log.warning("malformed message on %s: %s", event.topic, exc)
                self.ledger.record_incident(
                    disposition="rejected",
                    reason=f"malformed message on {event.topic}: {exc}",
                    peer=HUB,
                    payload=event.payload[:500].hex(),
                )
                return []
            return self.session.receive(msg, now)
        if isinstance(event, Wake):
            return self.session.local_changes(now)
        return []

    def _send(self, messages: list[Message]) -> None:
        for msg in messages:
            self.link.publish(self.topics.up, encode(msg))
            if isinstance(msg, Ack):
                log.debug("acked hub ops up to %s", msg.vv.get(HUB, 0))

    def _presence(self, state: State) -> bytes:
        assert self.ledger.key is not None  # the session refuses a keyless replica
        return presence(self.ledger.key, self.node, state)
