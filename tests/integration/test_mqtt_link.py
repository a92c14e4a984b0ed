"""`MqttLink` on a real broker: the SUBACK event, clean against persistent sessions, and
the edge's device bus built on it (ready only while subscribed)."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest

from devices.agent.topics import event_topic
from edge.workstations.bus import DeviceBus
from edge.workstations.config import DeviceBrokerAddress
from sync_protocol.transport.mqtt import (
    BrokerAddress,
    Connected,
    LinkEvent,
    MqttLink,
    ProtocolName,
    Received,
    Subscribed,
)
from tests.support.broker import BrokerProcess

TIMEOUT = 10.0
E = TypeVar("E", bound=LinkEvent)


@pytest.fixture(params=["5", "3.1.1"])
def protocol(request: pytest.FixtureRequest, mqtt_broker: BrokerProcess) -> ProtocolName:
    chosen: ProtocolName = request.param
    if chosen == "5" and mqtt_broker.kind != "mosquitto":
        pytest.skip("amqtt (the fallback) speaks MQTT 3.1.1 only")
    return chosen


@contextmanager
def running(link: MqttLink) -> Iterator[MqttLink]:
    link.start()
    try:
        yield link
    finally:
        link.stop()


def wait_for(link: MqttLink, kind: type[E]) -> E:
    """The next event of ``kind`` on the link's inbox (others are skipped)."""
    deadline = time.monotonic() + TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = link.inbox.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} on the link within {TIMEOUT}s")


def received_within(link: MqttLink, seconds: float) -> list[Received]:
    deadline = time.monotonic() + seconds
    got: list[Received] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = link.inbox.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(event, Received):
            got.append(event)
    return got


def test_one_subscribe_to_two_topics_is_acknowledged_by_one_subscribed_event(
    mqtt_broker: BrokerProcess, protocol: ProtocolName
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    address = BrokerAddress(mqtt_broker.host, mqtt_broker.port, protocol)
    with (
        running(MqttLink(f"{prefix}-reader", address, clean_session=True)) as reader,
        running(MqttLink(f"{prefix}-writer", address, clean_session=True)) as writer,
    ):
        wait_for(reader, Connected)
        mid = reader.subscribe(f"{prefix}/a", f"{prefix}/b")
        acked = wait_for(reader, Subscribed)
        assert (acked.mid, acked.granted, len(acked.reasons)) == (mid, True, 2)

        wait_for(writer, Connected)
        assert writer.publish(f"{prefix}/a", b"1") and writer.publish(f"{prefix}/b", b"2")
        first, second = wait_for(reader, Received), wait_for(reader, Received)
        assert {(first.topic, first.payload), (second.topic, second.payload)} == {
            (f"{prefix}/a", b"1"),
            (f"{prefix}/b", b"2"),
        }


@pytest.mark.parametrize("clean", [True, False], ids=["clean", "persistent"])
def test_only_a_persistent_session_gets_what_was_published_while_it_was_away(
    mqtt_broker: BrokerProcess, protocol: ProtocolName, clean: bool
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    address = BrokerAddress(mqtt_broker.host, mqtt_broker.port, protocol)
    topic = f"{prefix}/scan"
    with running(MqttLink(f"{prefix}-reader", address, clean_session=clean)) as reader:
        wait_for(reader, Connected)
        reader.subscribe(topic)
        wait_for(reader, Subscribed)

    with running(MqttLink(f"{prefix}-writer", address, clean_session=True)) as writer:
        wait_for(writer, Connected)
        assert writer.publish(topic, b"while away")
        time.sleep(0.3)  # let the broker take it before the writer says goodbye

    with running(MqttLink(f"{prefix}-reader", address, clean_session=clean)) as reader:
        assert wait_for(reader, Connected).session_present is not clean
        if clean:
            reader.subscribe(topic)  # a clean session has no subscription to resume
            wait_for(reader, Subscribed)
        got = [event.payload for event in received_within(reader, 1.0)]
        assert got == ([] if clean else [b"while away"])


def test_the_device_bus_is_ready_only_while_subscribed(private_broker: BrokerProcess) -> None:
    protocol: ProtocolName = "5" if private_broker.kind == "mosquitto" else "3.1.1"
    seen: list[tuple[str, bytes]] = []
    handled = threading.Event()

    def handler(topic: str, payload: bytes) -> None:
        seen.append((topic, payload))
        if payload == b"boom":
            raise ValueError("a bad device message")
        handled.set()

    device = f"d{uuid.uuid4().hex[:8]}"
    bus = DeviceBus(
        DeviceBrokerAddress(private_broker.host, private_broker.port, protocol), handler
    )
    bus.start()
    try:
        assert bus.wait_ready(TIMEOUT)
        private_broker.stop()
        deadline = time.monotonic() + TIMEOUT
        while bus.ready.is_set():
            assert time.monotonic() < deadline, "ready was not cleared when the broker went"
            time.sleep(0.02)
        private_broker.start()
        assert bus.wait_ready(TIMEOUT), "the bus did not subscribe again after a reconnect"

        address = BrokerAddress(private_broker.host, private_broker.port, protocol)
        with running(MqttLink(f"{device}-writer", address, clean_session=True)) as writer:
            wait_for(writer, Connected)
            writer.publish(event_topic(device), b"boom")
            writer.publish(event_topic(device), b"ok")
            assert handled.wait(TIMEOUT), "a handler error stopped the bus"
        assert [p for t, p in seen if t == event_topic(device)] == [b"boom", b"ok"]
    finally:
        bus.stop()
    assert not bus.ready.is_set()
