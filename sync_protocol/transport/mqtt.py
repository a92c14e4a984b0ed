"""MQTT adapter: one paho-mqtt 2.x client whose callbacks only enqueue.

Paho runs one network thread. Publishing or blocking inside its callbacks can
deadlock it, so every callback turns into an event on `inbox`, and the owner's own
thread does the work (including subscribing and publishing). Paho keeps unsent QoS 1
messages in memory only; nothing here relies on that: the replica store is the only
place an unsent op lives, and the session resends from the last ack after any
reconnect.

The session is persistent (`clean_start=False` with a Session Expiry Interval under
MQTT 5, `clean_session=False` under 3.1.1 for amqtt), so QoS 1 messages addressed to a
node while it was away wait at the broker — an optimisation only, since the broker
may drop them (Mosquitto past `max_queued_messages`) and the version vectors repair it.
A reader of live events only (the edge's device bus) asks for `clean_session=True`
instead: nothing is kept for it while it is away, and every reconnect starts afresh.
"""

from __future__ import annotations

import logging
import queue
import ssl
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

ProtocolName = Literal["5", "3.1.1"]


@dataclass(frozen=True)
class Connected:
    session_present: bool


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    # The identifiers of the subscriptions it came through (MQTT 5 Subscription
    # Identifier), so a client with overlapping subscriptions knows which delivered it.
    subscriptions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Subscribed:
    """The broker answered a SUBSCRIBE (`mid` as returned by `subscribe`): one reason
    code per topic filter, in order. `granted` is False when any filter was refused."""

    mid: int
    reasons: tuple[str, ...]
    granted: bool


@dataclass(frozen=True)
class Wake:
    """Put on the inbox by the owner's other threads (new local ops, shutdown)."""

    reason: str


LinkEvent = Connected | Disconnected | Subscribed | Received | Wake


@dataclass(frozen=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    protocol: ProtocolName = "5"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


class MqttLink:
    def __init__(
        self,
        client_id: str,
        broker: BrokerAddress,
        *,
        will: Will | None = None,
        session_expiry_s: int = 7 * 24 * 3600,
        max_queued: int = 10_000,
        keepalive_s: int = 10,
        clean_session: bool = False,
    ) -> None:
        self.broker = broker
        self.inbox: queue.Queue[LinkEvent] = queue.Queue()
        self.is_connected = False
        self._keepalive = keepalive_s
        self._session_expiry = session_expiry_s
        self._clean = clean_session
        v5 = broker.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else clean_session,
            reconnect_on_failure=True,
        )
        self._client.max_queued_messages_set(max_queued)
        # Try again every second, never backing off further: a broker that comes back is
        # found within a second (sync resumes at once), and a refused TCP connect costs
        # nothing. paho's delays are whole seconds.
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        if broker.ca_file:
            self._client.tls_set(
                ca_certs=broker.ca_file,
                certfile=broker.cert_file,
                keyfile=broker.key_file,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=1, retain=will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # --- callbacks: enqueue only -------------------------------------------------------

    def _on_connect(
        self, _c: Any, _u: Any, flags: paho.ConnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        self.is_connected = True
        self.inbox.put(Connected(bool(flags.session_present)))

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        self.is_connected = False
        self.inbox.put(Disconnected(str(reason)))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        granted = not any(r.is_failure for r in reasons)
        self.inbox.put(Subscribed(mid, tuple(str(r) for r in reasons), granted))

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        ids = getattr(message.properties, "SubscriptionIdentifier", None) or ()
        self.inbox.put(Received(message.topic, bytes(message.payload), tuple(ids)))

    # --- used by the owner's thread ----------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting while the broker is away."""
        if self.broker.protocol == "5" and self._clean:
            # No Session Expiry Interval: the session ends with the connection.
            self._client.connect_async(
                self.broker.host, self.broker.port, keepalive=self._keepalive, clean_start=True
            )
        elif self.broker.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self._session_expiry
            self._client.connect_async(
                self.broker.host,
                self.broker.port,
                keepalive=self._keepalive,
                clean_start=False,
                properties=props,
            )
        else:
            self._client.connect_async(
                self.broker.host, self.broker.port, keepalive=self._keepalive
            )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def subscribe(self, *topics: str, subscription_id: int | None = None) -> int | None:
        """Subscribe to one or more topic filters (QoS 1) in one SUBSCRIBE; the broker's
        answer arrives as `Subscribed` with the returned `mid`. None when the link is
        down: subscribe again on the next `Connected`. Under MQTT 5 a `subscription_id`
        comes back in `Received.subscriptions` of every message these filters deliver."""
        props = None
        if subscription_id is not None and self.broker.protocol == "5":
            props = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
            props.SubscriptionIdentifier = subscription_id
        _rc, mid = self._client.subscribe([(topic, 1) for topic in topics], properties=props)
        return mid

    def unsubscribe(self, *topics: str) -> None:
        """Stop receiving `topics` (nothing when the link is down: a clean session
        forgets its subscriptions anyway)."""
        if self.is_connected:
            self._client.unsubscribe(list(topics))

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Hand a message to paho. Returns False when the link is down: the caller's
        outbox, not paho's memory, keeps it for later."""
        if not self.is_connected:
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def wake(self, reason: str) -> None:
        self.inbox.put(Wake(reason))
