"""What idle nodes cost the hub: a hub with 3 busy nodes and 0, 10, 100 or 1,000 idle
ones, driven through virtual time by the production sessions, counting the SQL
statements the hub's engines run (a SQLAlchemy `before_cursor_execute` listener; a
read's BEGIN counts as one).

An idle node said hello, caught up and went quiet. Between heartbeats its session must
cost the hub nothing per tick (the hub ticks every session, as cloud/ingest.py does):
`SyncSession.tick` reads the store only when a resend or a heartbeat is due. Before
commit 20fcf81 it pumped on every tick (`ops_after` → `version_vector`: a BEGIN and a
SELECT), 2 statements per idle session per tick. Each heartbeat (every 15 s) costs a
few statements per idle session — the hello's `head_links`, `ops_after` after it and
after the answering ack, the ack's `save_peer` — a cost that grows with the sessions,
never faster. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from domain.registry import REGISTRY
from sync_protocol.hlc import HybridClock
from sync_protocol.messages import Ack, Control, Hello, Message, OpsPage, decode, encode, seal
from sync_protocol.origins import HUB
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import receive

CONFIG = SessionConfig()  # production timings: heartbeat 15 s, peer state saved each 1 s
TICK = 0.1  # the hub ingest's tick
BUSY = 3


@dataclass
class IdleNode:
    """A node that says hello, acks what the hub sends and says nothing more: all
    the hub ever hears of it is sealed and genuine."""

    name: str
    key: NodeKey
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    counter: int = 0
    hub_nonce: str | None = None

    def _sealed(self, msg: Control) -> Control:
        self.counter += 1
        return seal(msg, self.key, session=self.nonce, counter=self.counter, re=self.hub_nonce)

    def hello(self) -> Message:
        return self._sealed(Hello(self.name, {}))

    def answer(self, msg: Message) -> list[Message]:
        if isinstance(msg, OpsPage):
            self.hub_nonce = msg.nonce or self.hub_nonce
            return [self._sealed(Ack(self.name, {HUB: max(op.seq for op in msg.ops)}))]
        if msg.seal is not None:
            self.hub_nonce = msg.seal.session
        return [self._sealed(Ack(self.name, {}))] if isinstance(msg, Hello) else []


class HubWorld:
    """The hub, its sessions, busy nodes with real stores, idle ones without; messages
    are delivered (encoded, decoded) at once."""

    def __init__(self, where: Path, idle: int) -> None:
        self.now = 0.0
        self.hub_key = NodeKey.generate()
        self.hub = self._store(where / "hub.db", HUB, self.hub_key)
        for sku in ("A", "B"):
            with self.hub.write() as txn:
                txn.append("catalog.item_set", {"sku": sku, "fields": {"price_fen": 100}}, "hq")
        self.busy: dict[str, tuple[ReplicaStore, SyncSession]] = {}
        for i in range(BUSY):
            name = f"busy-{i}"
            key = NodeKey.generate()
            store = self._store(where / f"{name}.db", name, key)
            store.enroll(HUB, self.hub_key.public_b64)
            self.hub.enroll(name, key.public_b64)
            session = SyncSession(
                store, HUB, offer={name}, accept=only_from({HUB, name}), config=CONFIG
            )
            self.busy[name] = (store, session)
        self.idle = {f"idle-{i}": IdleNode(f"idle-{i}", NodeKey.generate()) for i in range(idle)}
        for node in self.idle.values():
            self.hub.enroll(node.name, node.key.public_b64)
        self.sessions = {
            name: SyncSession(
                self.hub, name, offer={HUB, name}, accept=only_from_origin(name), config=CONFIG
            )
            for name in [*self.busy, *self.idle]
        }
        self.statements = 0
        for engine in {self.hub.engine, self.hub.read_engine}:
            event.listen(engine, "before_cursor_execute", self._count)

    def _store(self, path: Path, origin: str, key: NodeKey) -> ReplicaStore:
        clock = HybridClock(physical_ms=lambda: int((1_700_000_000 + self.now) * 1000))
        url = f"sqlite:///{path}"
        return ReplicaStore(
            url, origin=origin, key=key, clock=clock, durable=False, registry=REGISTRY
        )

    def _count(self, *_: Any) -> None:
        self.statements += 1

    def close(self) -> None:
        for store, _ in self.busy.values():
            store.close()
        self.hub.close()

    # --- delivery ------------------------------------------------------------------------

    def to_hub(self, node: str, msgs: list[Message]) -> None:
        for msg in msgs:
            session = self.sessions[node]
            msg = decode(encode(msg))
            out: list[Message] = []
            if not session.connected:  # as cloud/ingest.py
                out = session.connect(self.now)
                if isinstance(msg, Hello):
                    out = []
            self.to_node(node, [*out, *session.receive(msg, self.now)])

    def to_node(self, node: str, msgs: list[Message]) -> None:
        for msg in msgs:
            msg = decode(encode(msg))
            if node in self.idle:
                self.to_hub(node, self.idle[node].answer(msg))
            else:
                self.to_hub(node, self.busy[node][1].receive(msg, self.now))

    # --- time ------------------------------------------------------------------------------

    def start(self) -> None:
        for name, (_, session) in self.busy.items():
            self.to_hub(name, session.connect(self.now))
        for node in self.idle.values():
            self.to_hub(node.name, [node.hello()])

    def tick(self, step: int) -> None:
        """One tick: a busy node sells (one of them every tick), every session ticks."""
        self.now += TICK
        name = f"busy-{step % BUSY}"
        store, session = self.busy[name]
        receive(store, "A", -1)
        self.to_hub(name, session.local_changes(self.now))
        for name, (_, session) in self.busy.items():
            self.to_hub(name, session.tick(self.now))
        for name, session in self.sessions.items():
            self.to_node(name, session.tick(self.now))

    def statements_during(self, ticks: int) -> int:
        before = self.statements
        for step in range(ticks):
            self.tick(step)
        return self.statements - before


@dataclass(frozen=True)
class Cost:
    per_tick: float  # hub statements per tick between heartbeats (2–14 s)
    heartbeat_window: int  # hub statements in 14–19 s, when every session beats once


@pytest.fixture(scope="module")
def costs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Cost]:
    """The hub's statements with 0, 10, 100 and 1,000 idle sessions (and 3 busy ones)."""
    out: dict[int, Cost] = {}
    for idle in (0, 10, 100, 1000):
        world = HubWorld(tmp_path_factory.mktemp(f"idle-{idle}"), idle)
        try:
            world.start()
            world.statements_during(int(2.0 / TICK))  # catch up; peer state saved at 1 s
            ticks = int((CONFIG.heartbeat_every - 1.0 - 2.0) / TICK)
            per_tick = world.statements_during(ticks) / ticks
            out[idle] = Cost(per_tick, world.statements_during(int(5.0 / TICK)))
        finally:
            world.close()
    return out


def test_an_idle_session_costs_no_database_statements_per_tick(costs: dict[int, Cost]) -> None:
    per_tick = {idle: cost.per_tick for idle, cost in costs.items()}
    assert per_tick[0] > 0  # the busy nodes' ops really went through the hub
    assert per_tick == {idle: per_tick[0] for idle in per_tick}, per_tick


def test_a_heartbeat_costs_the_hub_a_few_statements_per_idle_session(
    costs: dict[int, Cost],
) -> None:
    """The anti-entropy heartbeat of each idle session (the hub's hello, the answering
    ack) is the one cost of being idle: a constant per session, never per pair."""
    base = costs[0].heartbeat_window
    per_session = {n: (costs[n].heartbeat_window - base) / n for n in (10, 100, 1000)}
    assert 0 < per_session[1000] <= 10, per_session
    assert per_session[1000] == per_session[10], per_session
