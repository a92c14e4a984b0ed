"""Deterministic simulation of a hub and several nodes trading and syncing over a
faulty network.

Everything — message loss, duplication, reordering, partitions, reconnects, which
node writes what — comes from one seed, so a failing seed replays exactly:
`shopfloor sim --seed N`. The sessions and stores are the production ones; only the
network is simulated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from domain.catalog.queries import catalog as read_catalog
from domain.registry import REGISTRY
from domain.stock.queries import stock_levels
from sync_protocol.errors import MalformedMessage
from sync_protocol.hlc import HybridClock
from sync_protocol.messages import Message, decode, encode
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.transport.memory import Faults, MemoryNetwork

HUB = "cloud"
SKUS = ("6901234567890", "6909876543210", "6920000000017")
SIM_CONFIG = SessionConfig(page_ops=25, page_bytes=64_000, resend_after=1.0, heartbeat_every=3.0)


@dataclass
class SimReport:
    seed: int
    converged: bool
    finished_at: float
    messages: int
    dropped: int
    ops_written: int
    problems: list[str] = field(default_factory=list)


class SimWorld:
    def __init__(self, seed: int, *, nodes: int = 3, faults: Faults | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed * 7919 + 1)
        self.now = 1_700_000_000.0
        self.net = MemoryNetwork(seed, faults)
        self.ops_written = 0

        def clock() -> HybridClock:
            return HybridClock(physical_ms=lambda: int(self.now * 1000))

        hub_key = NodeKey.generate()
        self.hub = ReplicaStore(
            "sqlite://", origin=HUB, key=hub_key, clock=clock(), durable=False, registry=REGISTRY
        )
        self.nodes: dict[str, ReplicaStore] = {}
        self.hub_sessions: dict[str, SyncSession] = {}
        self.node_sessions: dict[str, SyncSession] = {}
        for i in range(1, nodes + 1):
            name = f"n{i}"
            key = NodeKey.generate()
            store = ReplicaStore(
                "sqlite://", origin=name, key=key, clock=clock(), durable=False, registry=REGISTRY
            )
            store.enroll(HUB, hub_key.public_b64)
            self.hub.enroll(name, key.public_b64)
            self.nodes[name] = store
            self.hub_sessions[name] = SyncSession(
                self.hub, name, offer={HUB, name}, accept=only_from_origin(name), config=SIM_CONFIG
            )
            self.node_sessions[name] = SyncSession(
                store, HUB, offer={name}, accept=only_from({HUB, name}), config=SIM_CONFIG
            )

    # --- moving messages ---------------------------------------------------------------

    def _send(self, src: str, dst: str, msgs: list[Message]) -> None:
        for msg in msgs:
            self.net.send(src, dst, encode(msg), self.now)

    def connect(self, node: str) -> None:
        self._send(node, HUB, self.node_sessions[node].connect(self.now))
        self._send(HUB, node, self.hub_sessions[node].connect(self.now))

    def deliver(self) -> None:
        for src, dst, payload in self.net.due(self.now):
            try:
                msg = decode(payload)
            except MalformedMessage:
                continue
            if dst == HUB:
                self._send(HUB, src, self.hub_sessions[src].receive(msg, self.now))
                # What the hub just took in may be due elsewhere (catalog relays).
                for name, session in self.hub_sessions.items():
                    self._send(HUB, name, session.local_changes(self.now))
            else:
                self._send(dst, HUB, self.node_sessions[dst].receive(msg, self.now))

    def tick(self) -> None:
        for name, session in self.node_sessions.items():
            self._send(name, HUB, session.tick(self.now))
        for name, session in self.hub_sessions.items():
            self._send(HUB, name, session.tick(self.now))

    # --- the business --------------------------------------------------------------------

    def random_write(self) -> None:
        roll = self.rng.random()
        if roll < 0.1:
            with self.hub.write() as txn:
                txn.append(
                    "catalog.item_set",
                    {
                        "sku": self.rng.choice(SKUS),
                        "fields": {"price_fen": self.rng.randint(100, 9999)},
                    },
                    "hq",
                )
            for name, session in self.hub_sessions.items():
                self._send(HUB, name, session.local_changes(self.now))
            self.ops_written += 1
            return
        name = self.rng.choice(sorted(self.nodes))
        qty = self.rng.randint(1, 20) if roll < 0.5 else -self.rng.randint(1, 3)
        with self.nodes[name].write() as txn:
            txn.append(
                "stock.moved",
                {
                    "sku": self.rng.choice(SKUS),
                    "location": name,
                    "qty": qty,
                    "reason": "receive" if qty > 0 else "sale",
                },
                "sim",
            )
        self.ops_written += 1
        self._send(name, HUB, self.node_sessions[name].local_changes(self.now))

    # --- checking ----------------------------------------------------------------------

    def divergence(self) -> list[str]:
        problems: list[str] = []
        hub_vv = self.hub.version_vector()
        hub_stock, hub_catalog = _stock_and_catalog(self.hub)
        for name, store in self.nodes.items():
            vv = store.version_vector()
            if vv.get(name, 0) != hub_vv.get(name, 0):
                problems.append(f"hub has {hub_vv.get(name, 0)} of {name}'s {vv.get(name, 0)} ops")
            if vv.get(HUB, 0) != hub_vv.get(HUB, 0):
                problems.append(
                    f"{name} has {vv.get(HUB, 0)} of the hub's {hub_vv.get(HUB, 0)} ops"
                )
            mine = {k: q for k, q in hub_stock.items() if k[1] == name}
            stock, catalog = _stock_and_catalog(store)
            if stock != mine:
                problems.append(f"{name}'s stock differs from the hub's view of it")
            if catalog != hub_catalog:
                problems.append(f"{name}'s catalog differs from the hub's")
        return problems

    def close(self) -> None:
        self.hub.close()
        for store in self.nodes.values():
            store.close()


def _stock_and_catalog(
    store: ReplicaStore,
) -> tuple[dict[tuple[str, str], int], dict[str, dict[str, Any]]]:
    with store.read() as conn:
        return stock_levels(conn), read_catalog(conn)


def run(seed: int, *, nodes: int = 3, writes: int = 120, faults: Faults | None = None) -> SimReport:
    world = SimWorld(seed, nodes=nodes, faults=faults)
    step = 0.05
    try:
        for name in world.nodes:
            world.connect(name)
        partitioned = world.rng.choice(sorted(world.nodes))
        write_until = world.now + 8.0
        cut_from, cut_to = world.now + 2.0, world.now + 5.0
        deadline = world.now + 300.0
        written = 0
        steps = 0
        while world.now < deadline:
            world.now += step
            steps += 1
            if cut_from <= world.now < cut_to:
                world.net.partition(partitioned, HUB)
            elif world.now >= cut_to and world.net.is_cut(partitioned, HUB):
                world.net.heal()
                world.connect(partitioned)  # MQTT reconnect after the outage
            if world.now < write_until and written < writes and world.rng.random() < 0.6:
                world.random_write()
                written += 1
            if world.rng.random() < 0.005:
                world.connect(world.rng.choice(sorted(world.nodes)))
            world.deliver()
            if steps % 4 == 0:
                world.tick()
            if (
                world.now > write_until
                and steps % 20 == 0
                and world.net.idle
                and not world.divergence()
            ):
                break
        problems = world.divergence()
        return SimReport(
            seed=seed,
            converged=not problems,
            finished_at=world.now - 1_700_000_000.0,
            messages=world.net.sent,
            dropped=world.net.dropped,
            ops_written=world.ops_written,
            problems=problems,
        )
    finally:
        world.close()
