"""One MQTT connection per device, so each device has its own Last Will.

A Last Will belongs to a connection: the broker publishes it when that connection ends
without a DISCONNECT (the agent was killed, the machine lost power or network). With one
paho client per device, every device's retained ``sf/dev/{device}/status`` turns
``offline`` by itself when the agent dies, and nothing on the edge has to combine an
agent-level presence with per-device statuses.

paho runs a network thread per client; its callbacks only put events on the owner's
``inbox`` (DESIGN §9: publishing or blocking inside a callback can deadlock it). The
device's runner thread subscribes and publishes.

The session is persistent (MQTT 5 ``clean_start=False`` with a Session Expiry Interval;
``clean_session=False`` under 3.1.1), so a command published while the agent was briefly
away (a restart) is delivered when it reconnects.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.agent.config import BrokerConfig
from devices.agent.topics import cmd_topic, status_topic

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 3600
MAX_QUEUED = 1000


@dataclass(frozen=True)
class Connected:
    session_present: bool


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class CommandReceived:
    topic: str
    payload: bytes


LinkEvent = Connected | Disconnected | CommandReceived


class DeviceLink:
    def __init__(
        self,
        device_id: str,
        agent_id: str,
        broker: BrokerConfig,
        will_payload: bytes,
    ) -> None:
        self.device_id = device_id
        self.broker = broker
        self.inbox: queue.Queue[LinkEvent] = queue.Queue()
        self.is_connected = False
        v5 = broker.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sf-dev-{agent_id}-{device_id}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            reconnect_on_failure=True,
        )
        self._client.max_queued_messages_set(MAX_QUEUED)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        self._client.will_set(status_topic(device_id), will_payload, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # --- paho callbacks: enqueue only ---------------------------------------------------

    def _on_connect(
        self, _c: Any, _u: Any, flags: paho.ConnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.warning("device %s: broker refused the connection: %s", self.device_id, reason)
            return
        self.is_connected = True
        self.inbox.put(Connected(bool(flags.session_present)))

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.is_connected = False
        self.inbox.put(Disconnected(str(reason)))

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        self.inbox.put(CommandReceived(message.topic, bytes(message.payload)))

    # --- the runner's side --------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting while the broker is away."""
        b = self.broker
        if b.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            self._client.connect_async(
                b.host, b.port, keepalive=b.keepalive_s, clean_start=False, properties=props
            )
        else:
            self._client.connect_async(b.host, b.port, keepalive=b.keepalive_s)
        self._client.loop_start()

    def subscribe_commands(self) -> None:
        self._client.subscribe(cmd_topic(self.device_id), qos=1)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Hand a message to paho; False (message dropped) while the broker is away."""
        if not self.is_connected:
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def stop(self, last_status: bytes | None = None, timeout: float = 2.0) -> None:
        """Publish ``last_status`` (retained) if connected, then disconnect cleanly.

        A clean DISCONNECT suppresses the Will, so the final status must be sent here.
        """
        if last_status is not None and self.is_connected:
            info = self._client.publish(
                status_topic(self.device_id), last_status, qos=1, retain=True
            )
            # The connection may go away meanwhile; then the Will covers it.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._client.disconnect()
        self._client.loop_stop()
