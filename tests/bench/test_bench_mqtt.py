"""MQTT carriage: a store's 20,000 unsynced ops reach the hub over the real broker.

Ours: an edge ``ReplicaStore`` holding N ops it has never sent and a fresh hub store,
each pumped by the production classes (``SyncAgent`` on the edge, ``HubIngest`` on the
hub: ``SyncSession`` over ``MqttLink``, QoS 1) through the session's Mosquitto. Timed
from the agent's first publish on its ``up`` topic (its hello) until the hub holds all
N ops — paging, a window of pages acked by version vector, page proofs and durable
applies included.
Baseline: bare paho, one client publishing the same pages (same bytes, same number of
QoS 1 messages) to another subscribed client, all at once, until the last one arrives.
Ratio = our ops/s ÷ the baseline's (same ops in the same bytes).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.ingest import HubIngest
from domain.registry import REGISTRY
from edge.sync_agent import SyncAgent
from sync_protocol.origins import HUB
from sync_protocol.presence import presence
from sync_protocol.session import SessionConfig
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import NodeTopics
from sync_protocol.transport.mqtt import BrokerAddress, ProtocolName
from tests.bench.baselines import PahoCarriage
from tests.bench.report import Rate, Results, Row, Table, interleave
from tests.bench.workload import PAGE_OPS, EdgeHistory, open_hub
from tests.support.broker import BrokerProcess

N_OPS = 20_000
ROUNDS = 3
PAHO_REPEATS = 5
SYNC_TIMEOUT = 60.0


class FirstPublish:
    """Wraps a link's ``publish`` to note when the first message went out on `topic`."""

    def __init__(self, publish: Callable[..., bool], topic: str) -> None:
        self._publish = publish
        self._topic = topic
        self.at: float | None = None

    def __call__(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        if self.at is None and topic == self._topic:
            self.at = time.perf_counter()
        return self._publish(topic, payload, retain=retain)


def wait_until_hub_listens(
    broker: BrokerAddress, topics: NodeTopics, hub: ReplicaStore, key: NodeKey
) -> None:
    """Publish the node's presence until the hub records it: the hub subscribes to `up`
    before `status`, so from then on nothing the agent sends is lost for want of a
    subscription (which would cost a 5 s resend and spoil the timing)."""
    probe = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{topics.tenant}-probe")
    probe.connect(broker.host, broker.port)
    probe.loop_start()
    try:
        deadline = time.monotonic() + 10
        while hub.peer_state(topics.node).last_seen_ms is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the hub never subscribed to the node's topics")
            probe.publish(topics.status, presence(key, topics.node, "offline"), qos=1)
            time.sleep(0.05)
    finally:
        probe.disconnect()
        probe.loop_stop()


@pytest.mark.bench
def test_sync_over_mqtt_against_raw_paho(
    mqtt_broker: BrokerProcess,
    edge_history: EdgeHistory,
    tmp_path: Path,
    bench_results: Results,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    protocol: ProtocolName = "5" if mqtt_broker.kind == "mosquitto" else "3.1.1"
    broker = BrokerAddress(mqtt_broker.host, mqtt_broker.port, protocol)
    origin = edge_history.origin
    wires = edge_history.wire_pages(N_OPS)
    notes: list[str] = []

    def sync_round() -> Rate:
        tenant = f"bench{secrets.token_hex(4)}"
        base = tmp_path / tenant
        base.mkdir()
        hub = open_hub(f"sqlite:///{base}/hub.db", edge_history)
        edge = ReplicaStore(
            f"sqlite:///{base}/edge.db", origin=origin, key=edge_history.key, registry=REGISTRY
        )
        assert hub.key is not None
        edge.enroll(HUB, hub.key.public_b64, label="hub")
        edge.apply(edge_history.ops[:N_OPS])  # written while offline: all of it unsent
        ingest = HubIngest(hub, tenant, broker)
        agent = SyncAgent(edge, tenant, broker)
        first = FirstPublish(agent.link.publish, agent.topics.up)
        monkeypatch.setattr(agent.link, "publish", first)
        with contextlib.ExitStack() as running:  # stopped and closed in reverse order
            running.callback(hub.close)
            running.callback(edge.close)
            ingest.start()
            running.callback(ingest.stop)
            wait_until_hub_listens(broker, agent.topics, hub, edge_history.key)
            agent.start()
            running.callback(agent.stop)
            deadline = time.monotonic() + SYNC_TIMEOUT
            while hub.head(origin) < N_OPS:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the hub holds {hub.head(origin)} of {N_OPS} ops")
                time.sleep(0.005)
            done = time.perf_counter()
            assert first.at is not None
            hub_stats = ingest.sessions[origin].stats
            notes.append(
                f"{agent.session.stats.pages_sent} pages sent, "
                f"{agent.session.stats.resends} resends, "
                f"{hub_stats.duplicates} duplicate ops received by the hub"
            )
            return Rate(N_OPS, done - first.at)

    def paho_round() -> Rate:
        carriage = PahoCarriage(
            broker.host, broker.port, protocol, f"bench/{secrets.token_hex(4)}/raw"
        )
        try:
            # The carriage takes milliseconds: repeat it so the round is not all timer noise.
            seconds = sum(carriage.carry_seconds(wires) for _ in range(PAHO_REPEATS))
            return Rate(N_OPS * PAHO_REPEATS, seconds)
        finally:
            carriage.close()

    ours, raw = interleave(ROUNDS, sync_round, paho_round)

    megabytes = sum(len(w) for w in wires) / 1e6
    bench_results.add(
        Table(
            f"MQTT carriage: {N_OPS:,} ops edge → hub over {mqtt_broker.kind} (loopback)",
            f"bare paho QoS 1, {len(wires)} messages of the same {megabytes:.2f} MB "
            f"published at once to a subscribed client (×{PAHO_REPEATS} per round)",
            [Row("SyncAgent → HubIngest, SQLite on both ends", "op", ours, raw)],
            [
                f"{ROUNDS} rounds, each with fresh stores; median round; "
                f"pages of {PAGE_OPS} ops, a window of {SessionConfig().window_pages} in flight",
                *(f"{n} of {ROUNDS} rounds: {note}" for note, n in Counter(notes).items()),
            ],
        )
    )
