"""Deterministic simulation of a hub and several nodes trading and syncing through
trouble, then a check of what must hold once the trouble is over.

Everything comes from one seed, so a failing seed replays exactly
(`shopfloor sim --seed N`): the network's faults (loss, duplication, reordering, a
partition, reconnects) and the schedule of

- **crash/restart**: a node's process dies (its store closed, its session gone, the hub
  sees its Last Will) and comes back from its SQLite file with a new session;
- **restore from an old backup**: a snapshot of a node's file, taken earlier, replaces
  the live one; the node holds local writes (`local_writes_held`, as edge/node.py does)
  and resumes only when a fresh word of the hub says it holds every own op the hub
  holds, past a gap too (`SyncSession.reconcile_restore`, as edge/sync_agent.py); while
  the hub holds some past a gap nobody can fill, it stays held for a person;
- **a hand-copied ledger**: the same restore without the hold, so the node writes at
  once and reuses seqs: an equivocation, which must be flagged;
- **clock skew**: a node's wall clock jumps hours ahead (or one back), then is set right;
- **a hub restart**, greeting the nodes a second after it is back;
- **an attacker** on the broker: unsealed, wrongly signed and tampered hello/ack/need,
  and replays of genuine sealed ones.

The sessions and stores are the production ones, on SQLite files (durable=False); only
the network, the processes and the clocks are simulated. `SimWorld.verdict` lists the
invariants it checks.
"""

from __future__ import annotations

import atexit
import base64
import functools
import heapq
import json
import random
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain.catalog.queries import catalog as read_catalog
from domain.registry import REGISTRY
from domain.stock.queries import stock_levels
from sync_protocol.errors import MalformedMessage, NodeNotReady
from sync_protocol.hlc import HybridClock
from sync_protocol.messages import Ack, Control, Hello, Message, Need, OpsPage, decode, encode, seal
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.session import (
    REMEMBERED_PEER_SESSIONS,
    SessionConfig,
    SyncSession,
    only_from,
    only_from_origin,
)
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore, schema
from sync_protocol.transport.memory import Faults, MemoryNetwork

SKUS = ("6901234567890", "6909876543210", "6920000000017")
SIM_CONFIG = SessionConfig(page_ops=25, page_bytes=64_000, resend_after=1.0, heartbeat_every=3.0)
T0 = 1_700_000_000.0
STEP = 0.05
# Seconds of trading (then heal and wait for quiet): a small history trades for less
# time, so that hundreds of seeds fit in a test run. Every scheduled time scales with it.
MAX_SPAN = 8.0
HOUR_MS = 3_600_000
HELD = "restored from a backup; replaying own ops from the hub"
FORGED_INCIDENT = {
    "unsealed": "unsealed",
    "attacker_key": "bad_seal",
    "wrong_key": "bad_seal",
    "tampered": "bad_seal",
    "replay": "replayed",
}
STRIKES = (*FORGED_INCIDENT, "stale_replay")


@dataclass(frozen=True)
class Chaos:
    """The chance, per run, of each kind of trouble (per node where it says so)."""

    restart: float = 0.35  # per node: a crash and restart
    restore: float = 0.3  # per node: an old backup restored, with the hold
    hand_copied: float = 0.08  # per node: an old backup copied back by hand, no hold
    hub_restart: float = 0.15
    skew: float = 0.35  # one node's clock jumps, then is set right
    forgeries: int = 4  # at most this many attacker strikes


CALM = Chaos(restart=0, restore=0, hand_copied=0, hub_restart=0, skew=0, forgeries=0)


@dataclass
class SimReport:
    seed: int
    converged: bool
    finished_at: float
    messages: int
    dropped: int
    ops_written: int
    problems: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)


@dataclass
class _Replica:
    """One process with its ledger file; `store` is None while it is down."""

    name: str
    key: NodeKey
    path: Path
    store: ReplicaStore | None = None
    incarnation: int = 0
    backup: Path | None = None
    hand_copied: bool = False  # its ledger came back from a copy, without the hold
    line: int = 0  # which history its ops continue: +1 at every restore
    restored_marker: bool = False  # edge/backup's RESTORED marker: boot held
    write_after_resume: int = 0

    def live(self) -> ReplicaStore:
        assert self.store is not None, f"{self.name} is down"
        return self.store


@dataclass(frozen=True)
class _Commit:
    sig: str
    hand_copied: bool
    line: int  # the writer's history (`_Replica.line`) it was signed in


@dataclass(frozen=True)
class _Heard:
    payload: bytes
    msg: Control
    incarnation: int  # of the receiving process


class SimWorld:
    def __init__(
        self,
        seed: int,
        workdir: Path,
        *,
        nodes: int = 3,
        writes: int = 120,
        faults: Faults | None = None,
        chaos: Chaos | None = None,
    ) -> None:
        self.seed = seed
        self.writes = writes
        self.span = min(MAX_SPAN, max(2.0, writes / 15))
        self.rng = random.Random(seed * 7919 + 1)
        self.now = T0
        self.net = MemoryNetwork(seed, faults)
        self.events: Counter[str] = Counter()
        self.problems: list[str] = []
        self.skew: dict[str, int] = {}
        self.ops_written = 0
        # Every op ever committed, and those a restore destroyed before anyone else held
        # them (the restore's loss, not the protocol's).
        self.commits: dict[tuple[str, int], list[_Commit]] = {}
        self.discarded: set[tuple[str, int, str]] = set()
        self._agenda: list[tuple[float, int, str, Callable[[], None]]] = []
        self._order = 0
        self.hub = _Replica(HUB, NodeKey.generate(), workdir / f"{HUB}.db")
        self.nodes = {
            f"n{i}": _Replica(f"n{i}", NodeKey.generate(), workdir / f"n{i}.db")
            for i in range(1, nodes + 1)
        }
        self.hub_sessions: dict[str, SyncSession] = {}
        self.node_sessions: dict[str, SyncSession] = {}
        for r in [self.hub, *self.nodes.values()]:
            shutil.copyfile(_template(), r.path)
        hub = self._open(self.hub)
        for name, r in self.nodes.items():
            store = self._open(r)
            store.enroll(HUB, self.hub.key.public_b64)
            hub.enroll(name, r.key.public_b64)
            self.node_sessions[name] = self._node_session(name)
        self._hub_sessions()
        self.attacker = _Attacker(self)
        self._schedule(chaos or Chaos())

    # --- processes -----------------------------------------------------------------------

    def _open(self, r: _Replica) -> ReplicaStore:
        name = r.name

        def wall_ms() -> int:
            return int(self.now * 1000) + self.skew.get(name, 0)

        r.store = ReplicaStore(
            f"sqlite:///{r.path}",
            origin=name,
            key=r.key,
            clock=HybridClock(physical_ms=wall_ms),
            durable=False,
            registry=REGISTRY,
        )
        r.incarnation += 1
        return r.store

    def _node_session(self, name: str) -> SyncSession:
        return SyncSession(
            self.nodes[name].live(),
            HUB,
            offer={name},
            accept=only_from({HUB, name}),
            config=SIM_CONFIG,
        )

    def _hub_sessions(self) -> None:
        hub = self.hub.live()
        self.hub_sessions = {
            name: SyncSession(
                hub, name, offer={HUB, name}, accept=only_from_origin(name), config=SIM_CONFIG
            )
            for name in self.nodes
        }

    def _crash(self, name: str) -> bool:
        """The node's process dies: no goodbye, no last save; the hub sees its Will."""
        r = self.nodes[name]
        if r.store is None:
            return False
        r.live().close()
        r.store = None
        del self.node_sessions[name]
        if self.hub.store is not None:
            self.hub_sessions[name].disconnect()
        return True

    def _boot(self, name: str) -> None:
        r = self.nodes[name]
        store = self._open(r)
        if r.restored_marker:
            store.local_writes_held = HELD
        session = self.node_sessions[name] = self._node_session(name)
        self._send(name, HUB, session.connect(self.now))

    def _downtime(self) -> float:
        # Longer than any delay: what the process sent before it died has landed (or is
        # lost) by the time it is back, as a broker's queue would be drained.
        return self.net.faults.max_delay + self.rng.uniform(0.2, 1.5)

    def restart(self, name: str) -> None:
        if self._crash(name):
            self.events["restarts"] += 1
            self._at(self.now + self._downtime(), f"boot {name}", lambda: self._boot(name))

    def take_backup(self, name: str) -> None:
        r = self.nodes[name]
        r.backup = r.path.with_name(f"{name}.backup.db")
        with _sqlite(r.path) as src, _sqlite(r.backup) as dst:
            src.backup(dst)
        self.events["backups"] += 1

    def restore(self, name: str, *, hold: bool) -> None:
        """Put the backup back in place of the live file, as Litestream (with the hold)
        or a person copying a file by hand (without) would."""
        if not self._crash(name):
            return
        self._at(self.now + self._downtime(), f"restore {name}", lambda: self._put_back(name, hold))

    def _put_back(self, name: str, hold: bool) -> None:
        r = self.nodes[name]
        assert r.backup is not None
        kept = _sigs(r.backup, name)
        at_hub = _sigs(self.hub.path, name, table="both")
        for seq, sigs in _sigs(r.path, name).items():
            for sig in sigs - kept.get(seq, set()) - at_hub.get(seq, set()):
                self.discarded.add((name, seq, sig))
                self.events["ops_lost_to_restore"] += 1
        past_gap = _sigs(self.hub.path, name, table="pending_ops")
        if max(past_gap, default=0) > max(kept, default=0):
            self.events["restores_over_a_gap"] += 1  # the hold must outlast the hub's word
        for suffix in ("", "-wal", "-shm"):
            Path(f"{r.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(r.backup, r.path)
        self.events["restores_held" if hold else "restores_hand_copied"] += 1
        if hold:
            r.write_after_resume = self.rng.randint(1, 3)
        else:
            r.write_after_resume = self.rng.randint(1, 4)  # at once: it was never held
        r.restored_marker, r.hand_copied = hold, not hold
        r.line += 1
        self._boot(name)

    def hub_restart(self) -> None:
        if self.hub.store is None:
            return
        self.hub.live().close()
        self.hub.store = None
        self.hub_sessions = {}
        self.events["hub_restarts"] += 1
        self._at(self.now + self._downtime(), "hub boot", self._hub_boot)

    def _hub_boot(self) -> None:
        self._open(self.hub)
        self._hub_sessions()
        # Retained presence says who is online; the hub greets each within a second.
        self._at(self.now + 1.0, "hub greets", self._greet)

    def _greet(self) -> None:
        for name, session in self.hub_sessions.items():
            if not session.connected and self.nodes[name].store is not None:
                self._send(HUB, name, session.connect(self.now))

    def set_skew(self, name: str, ms: int) -> None:
        self.skew[name] = ms
        if ms:
            self.events["clock_jumps"] += 1

    # --- the agenda ----------------------------------------------------------------------

    def _at(self, when: float, label: str, fn: Callable[[], None]) -> None:
        self._order += 1
        heapq.heappush(self._agenda, (when, self._order, label, fn))

    def _run_agenda(self) -> None:
        while self._agenda and self._agenda[0][0] <= self.now:
            _, _, _, fn = heapq.heappop(self._agenda)
            fn()

    def _schedule(self, chaos: Chaos) -> None:
        rng, t, span = self.rng, T0, self.span
        k = span / MAX_SPAN
        for name in sorted(self.nodes):
            if rng.random() < chaos.restart:
                when = t + k * rng.uniform(0.5, MAX_SPAN - 1)
                self._at(when, "restart", _bind(self.restart, name))
            roll = rng.random()
            if roll < chaos.restore + chaos.hand_copied:
                taken = t + k * rng.uniform(0.3, 2.5)
                self._at(taken, "backup", _bind(self.take_backup, name))
                hold = roll < chaos.restore
                restore = functools.partial(self.restore, name, hold=hold)
                self._at(taken + k * rng.uniform(1.0, 3.0), "restore", restore)
        if rng.random() < chaos.skew:
            name = rng.choice(sorted(self.nodes))
            start = t + k * rng.uniform(0.5, 4.0)
            jump = rng.choice((-1, 2, 5, 30)) * HOUR_MS
            self._at(start, "skew", functools.partial(self.set_skew, name, jump))
            self._at(
                start + k * rng.uniform(1.0, 3.0),
                "unskew",
                functools.partial(self.set_skew, name, 0),
            )
        if rng.random() < chaos.hub_restart:
            self._at(t + k * rng.uniform(1.0, MAX_SPAN), "hub restart", self.hub_restart)
        for _ in range(rng.randint(0, chaos.forgeries)):
            self._at(t + k * rng.uniform(0.5, MAX_SPAN + 4), "strike", self.attacker.strike)

    # --- moving messages -----------------------------------------------------------------

    def _send(self, src: str, dst: str, msgs: list[Message]) -> None:
        for msg in msgs:
            self.net.send(src, dst, encode(msg), self.now)

    def connect(self, node: str) -> None:
        """The node's link came back and the hub greets it (presence online)."""
        if node in self.node_sessions:
            self._send(node, HUB, self.node_sessions[node].connect(self.now))
        if self.hub.store is not None:
            self._send(HUB, node, self.hub_sessions[node].connect(self.now))

    def deliver(self) -> None:
        for src, dst, payload in self.net.due(self.now):
            try:
                msg = decode(payload)
            except MalformedMessage:
                continue
            landed = self._to_hub(src, msg) if dst == HUB else self._to_node(dst, msg)
            if landed and not isinstance(msg, OpsPage):
                self.attacker.overheard(src, dst, payload, msg)

    def _to_hub(self, node: str, msg: Message) -> bool:
        if self.hub.store is None:
            return False
        session = self.hub_sessions[node]
        out: list[Message] = []
        if not session.connected:
            # As cloud/ingest.py: a first word since the hub's start (or the node's Will)
            # opens the session; a hello is answered by the ack alone.
            out = session.connect(self.now)
            if isinstance(msg, Hello):
                out = []
        self._send(HUB, node, [*out, *session.receive(msg, self.now)])
        return True

    def _to_node(self, name: str, msg: Message) -> bool:
        session = self.node_sessions.get(name)
        if session is None:
            return False
        self._send(name, HUB, session.receive(msg, self.now))
        self._check_reconciled(name)
        return True

    def _check_reconciled(self, name: str) -> None:
        """edge/sync_agent.py: a restored node writes again once it holds every own op
        the hub holds (past a gap too), by the hub's fresh word alone."""
        store = self.nodes[name].store
        session = self.node_sessions.get(name)
        if store is None or session is None or store.local_writes_held is None:
            return
        if session.reconcile_restore(self.now):
            self.nodes[name].restored_marker = False
            self.events["holds_lifted"] += 1

    def tick(self) -> None:
        for name, session in self.node_sessions.items():
            self._send(name, HUB, session.tick(self.now))
        for name, session in self.hub_sessions.items():
            self._send(HUB, name, session.tick(self.now))

    # --- the business --------------------------------------------------------------------

    def write(self, name: str) -> bool:
        r = self.hub if name == HUB else self.nodes[name]
        store = r.store
        if store is None:
            return False
        held = store.local_writes_held
        try:
            with store.write() as txn:
                op = txn.append(*self._business(name))
        except NodeNotReady:
            self.events["writes_refused"] += 1
            return False
        if held is not None:
            self.problems.append(f"{name} wrote {op.origin}/{op.seq} while held ({held})")
        self.commits.setdefault(op.id, []).append(_Commit(_sig(op), r.hand_copied, r.line))
        self.ops_written += 1
        if name == HUB:
            for node, session in self.hub_sessions.items():
                self._send(HUB, node, session.local_changes(self.now))
        else:
            self._send(name, HUB, self.node_sessions[name].local_changes(self.now))
        return True

    def _business(self, name: str) -> tuple[str, dict[str, Any], str]:
        sku = self.rng.choice(SKUS)
        if name == HUB:
            return (
                "catalog.item_set",
                {"sku": sku, "fields": {"price_fen": self.rng.randint(100, 9999)}},
                "hq",
            )
        qty = self.rng.randint(1, 20) if self.rng.random() < 0.45 else -self.rng.randint(1, 3)
        reason = "receive" if qty > 0 else "sale"
        return "stock.moved", {"sku": sku, "location": name, "qty": qty, "reason": reason}, "sim"

    def random_write(self) -> None:
        if self.rng.random() < 0.1:
            self.write(HUB)
        else:
            self.write(self.rng.choice(sorted(self.nodes)))

    def _writes_after_resume(self) -> None:
        """A restored node's till starts selling again once it may (a hand-copied one
        at once: nothing holds it)."""
        for name, r in self.nodes.items():
            if r.write_after_resume and r.store is not None and r.store.local_writes_held is None:
                r.write_after_resume -= 1
                self.write(name)

    # --- running -------------------------------------------------------------------------

    def run(self) -> SimReport:
        rng, writes, span = self.rng, self.writes, self.span
        for name in self.nodes:
            self.connect(name)
        partitioned = rng.choice(sorted(self.nodes))
        write_until = self.now + span
        cut_from, cut_to = self.now + span / 4, self.now + span * 5 / 8
        deadline = self.now + 300.0
        chance = min(0.9, 1.25 * writes * STEP / (span * 3 / 4))
        written = steps = 0
        while self.now < deadline:
            self.now += STEP
            steps += 1
            self._run_agenda()
            if cut_from <= self.now < cut_to:
                self.net.partition(partitioned, HUB)
            elif self.now >= cut_to and self.net.is_cut(partitioned, HUB):
                self.net.heal()
                self.connect(partitioned)  # MQTT reconnect after the outage
            if self.now < write_until and written < writes and rng.random() < chance:
                self.random_write()
                written += 1
            self._writes_after_resume()
            if rng.random() < 0.005:
                self.connect(rng.choice(sorted(self.nodes)))
            self.deliver()
            if steps % 4 == 0:
                self.tick()
            if self.now > write_until and steps % 20 == 0 and self.settled():
                break
        problems = [*self.problems, *self.verdict()]
        return SimReport(
            seed=self.seed,
            converged=not problems,
            finished_at=self.now - T0,
            messages=self.net.sent,
            dropped=self.net.dropped,
            ops_written=self.ops_written,
            problems=problems,
            events=self.events,
        )

    def close(self) -> None:
        for r in [self.hub, *self.nodes.values()]:
            if r.store is not None:
                r.store.close()
                r.store = None

    # --- checking ------------------------------------------------------------------------

    def _conflicts(self) -> dict[tuple[str, int], list[_Commit]]:
        """(origin, seq) under which two different ops were committed whose histories
        both live on: each op is still held somewhere, or a later op of its own history
        is (an op held past a gap vouches, by its chain link, for the one before it even
        when a restore destroyed that one)."""
        out: dict[tuple[str, int], list[_Commit]] = {}
        for (origin, seq), commits in self.commits.items():
            alive = [c for c in commits if self._lives_on(origin, seq, c)]
            if len({c.sig for c in alive}) > 1:
                out[(origin, seq)] = alive
        return out

    def _lives_on(self, origin: str, seq: int, commit: _Commit) -> bool:
        if (origin, seq, commit.sig) not in self.discarded:
            return True
        return any(
            later.line == commit.line and (origin, s, later.sig) not in self.discarded
            for (o, s), cs in self.commits.items()
            if o == origin and s > seq
            for later in cs
        )

    def _stores(self) -> dict[str, ReplicaStore]:
        return {r.name: r.live() for r in [self.hub, *self.nodes.values()]}

    def _flagged(self, origin: str, stores: dict[str, ReplicaStore]) -> bool:
        """Blocked, with an `equivocation` incident, on the hub or the origin itself."""
        for name in {HUB, origin} if origin != HUB else stores:
            store = stores[name]
            if origin in _blocked(store) and _incidents(store, origin=origin)["equivocation"]:
                return True
        return False

    def settled(self) -> bool:
        """Quiet, and as converged as it can get (cheap: heads and blocks only)."""
        if self._agenda or not self.net.idle or self.hub.store is None:
            return False
        if any(r.store is None for r in self.nodes.values()):
            return False
        stores = self._stores()
        hub_blocked = _blocked(stores[HUB])
        for name, r in self.nodes.items():
            store = stores[name]
            blocked = hub_blocked | _blocked(store)
            for_a_person = _held_for_a_person(store)
            if r.write_after_resume and not for_a_person:
                return False
            if store.local_writes_held is not None and name not in blocked and not for_a_person:
                return False
            for origin in {HUB, name} - blocked:
                if stores[HUB].head_links([origin]) != store.head_links([origin]):
                    return False
        return all(self._flagged(o, stores) for o, _ in self._conflicts())

    def verdict(self) -> list[str]:
        """The invariants, after healing and quiescing:

        - every equivocation is flagged (blocked, with an incident) on the hub or on
          the node, and nothing is blocked without one; no seq is reused by a node
          under a hold (only a hand-copied ledger reuses them);
        - nothing lost: every op committed (but those a restore destroyed before any
          other replica held them) is held by the hub and by every replica it is
          offered to, with the same signature, unless its origin is flagged, or the
          hub holds it past a gap nobody can fill while its node is held for a person;
        - nothing doubled or invented: every stored op is one that was committed;
          stock on hand equals the fold of the stored moves, on every replica;
        - replicas equal: hub and node hold the same chain and range checksum of each
          origin they share and neither blocks, and nothing waits past a gap (but the
          hub, past a gap nobody can fill, of a node held for a person);
        - the clock never runs backwards: each origin's stamps grow with its seqs;
        - every hold was lifted, unless the node's origin is blocked, or the hub holds
          its ops past a gap whose every op a restore destroyed (then the node is held
          for a person, with a `restore_gap` incident, and only then);
        - forged or replayed control messages changed nothing (checked as they came).
        """
        if self.hub.store is None or any(r.store is None for r in self.nodes.values()):
            return ["a process was still down at the end"]
        found: list[str] = []
        stores = self._stores()
        held = {name: {op.id: op for op in store.all_ops()} for name, store in stores.items()}
        blocked = {name: _blocked(store) for name, store in stores.items()}
        conflicts = self._conflicts()
        flagged = {o for o in {o for o, _ in self.commits} if self._flagged(o, stores)}
        for (origin, seq), alive in sorted(conflicts.items()):
            if origin not in flagged:
                found.append(f"equivocation at {origin}/{seq} not flagged")
            if any(not c.hand_copied for c in alive[1:]):
                found.append(f"{origin} reused seq {seq} under a hold")
        guilty = {o for o, _ in conflicts}
        self.events["equivocations_flagged"] = len(guilty & flagged)
        for name, origins in blocked.items():
            for origin in sorted(origins - guilty):
                found.append(f"{name} blocks {origin} without an equivocation")
        kept_for_a_person = {name: self._kept_past_a_lost_gap(name, stores) for name in self.nodes}
        for (origin, seq), commits in sorted(self.commits.items()):
            if origin in flagged:
                continue
            holders = stores if origin == HUB else (HUB, origin)
            for c in commits:
                if (origin, seq, c.sig) in self.discarded:
                    continue
                if (seq, c.sig) in kept_for_a_person.get(origin, set()):
                    continue  # the hub holds it past a gap lost to a restore
                for name in holders:
                    op = held[name].get((origin, seq))
                    if op is None:
                        found.append(f"{name} lacks {origin}/{seq}")
                    elif _sig(op) != c.sig:
                        found.append(f"{name} holds another {origin}/{seq}")
        known = {(o, s, c.sig) for (o, s), cs in self.commits.items() for c in cs}
        for name, ops in held.items():
            for op in ops.values():
                if (op.origin, op.seq, _sig(op)) not in known:
                    found.append(f"{name} holds {op.origin}/{op.seq}, which nobody wrote")
            found += _fold_problems(name, stores[name], ops.values())
            found += _clock_problems(name, ops.values(), blocked[name])
        for name in self.nodes:
            found += self._pair_problems(name, stores, blocked)
        return found

    def _lost_gap(self, origin: str, stores: dict[str, ReplicaStore]) -> tuple[int, int] | None:
        """The gap the hub waits past for `origin`, when every op committed under its
        seqs was destroyed by a restore before any other replica held it: nobody can
        fill it any more."""
        gap = stores[HUB].gaps().get(origin)
        if gap is None:
            return None
        for seq in range(gap[0], gap[1] + 1):
            commits = self.commits.get((origin, seq), [])
            if any((origin, seq, c.sig) not in self.discarded for c in commits):
                return None
        return gap

    def _kept_past_a_lost_gap(self, name: str, stores: dict[str, ReplicaStore]) -> set[Any]:
        """(seq, sig) of the ops of `name` the hub holds past a gap nobody can fill,
        while the node is held for a person: not lost, kept for that person."""
        if self._lost_gap(name, stores) is None or not _held_for_a_person(stores[name]):
            return set()
        past = _sigs(self.hub.path, name, table="pending_ops")
        return {(seq, sig) for seq, sigs in past.items() for sig in sigs}

    def _pair_problems(
        self, name: str, stores: dict[str, ReplicaStore], blocked: dict[str, set[str]]
    ) -> list[str]:
        problems: list[str] = []
        hub, node = stores[HUB], stores[name]
        either = blocked[HUB] | blocked[name]
        lost_gap = self._lost_gap(name, stores)
        if _held_for_a_person(node):
            self.events["holds_kept_for_a_person"] += 1
            if lost_gap is None:
                problems.append(f"{name} is held for a person, but no gap is lost")
        elif node.local_writes_held is not None and name not in either:
            problems.append(f"{name} still holds its writes ({node.local_writes_held})")
        for origin in sorted({HUB, name} - either):
            mine, theirs = hub.head_links([origin]), node.head_links([origin])
            if mine != theirs:
                problems.append(f"{origin}: hub holds {mine}, {name} holds {theirs}")
                continue
            if mine:
                top = mine[origin][0]
                if hub.range_checksum(origin, 1, top) != node.range_checksum(origin, 1, top):
                    problems.append(f"{origin}: range checksums of hub and {name} differ")
            for store_name, store in ((HUB, hub), (name, node)):
                if origin in store.gaps() and not (
                    store is hub and origin == name and lost_gap and _held_for_a_person(node)
                ):
                    problems.append(f"{store_name} waits past a gap of {origin}")
        if HUB not in either and _catalog(hub) != _catalog(node):
            problems.append(f"{name}'s catalog differs from the hub's")
        return problems


class _Attacker:
    """Someone on the broker: overhears the control messages that land and, now and
    then, injects a forged one or replays a genuine one, straight to a session."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self.key = NodeKey.generate()
        self.heard: dict[tuple[str, str], list[_Heard]] = {}
        # The senders' connections (nonces) each receiving process has heard of.
        self.connections: dict[tuple[str, str, int], set[str]] = {}

    def _incarnation(self, name: str) -> int:
        w = self.world
        return (w.hub if name == HUB else w.nodes[name]).incarnation

    def overheard(self, src: str, dst: str, payload: bytes, msg: Control) -> None:
        inc = self._incarnation(dst)
        self.heard.setdefault((src, dst), []).append(_Heard(payload, msg, inc))
        if msg.seal is not None:
            self.connections.setdefault((src, dst, inc), set()).add(msg.seal.session)

    def _target(self) -> tuple[str, str, SyncSession, ReplicaStore] | None:
        w = self.world
        pairs: list[tuple[str, str]] = []
        for name in sorted(w.node_sessions):
            pairs.append((HUB, name))
            if w.hub.store is not None:
                pairs.append((name, HUB))
        if not pairs:
            return None
        src, dst = w.rng.choice(pairs)
        if dst == HUB:
            return src, dst, w.hub_sessions[src], w.hub.live()
        return src, dst, w.node_sessions[dst], w.nodes[dst].live()

    def strike(self) -> None:
        w = self.world
        target = self._target()
        if target is None:
            return
        src, dst, session, store = target
        how = w.rng.choice(STRIKES)
        payload = self._forge(how, src, dst, session)
        if payload is None:
            how, payload = "attacker_key", self._forge("attacker_key", src, dst, session)
        assert payload is not None
        msg = decode(payload)
        before, incidents = _state(session, store), _incidents(store)
        out = session.receive(msg, w.now)
        if dst != HUB:
            w._check_reconciled(dst)
        after = _state(session, store)
        w.events[f"strikes_{how}"] += 1
        what = f"{how} {type(msg).__name__.lower()} {src}->{dst} at {w.now - T0:.2f}s"
        if how == "stale_replay":
            # From before this process started: not fresh, so it may teach what the peer
            # held then, but it must not end a hold or touch the ops.
            if (before[0], before[1], before[2]) != (after[0], after[1], after[2]):
                w.problems.append(f"{what} changed the ops, the hold or the fresh word")
            w._send(dst, src, out)
            return
        grown = _incidents(store) - incidents
        if out or before != after or grown != Counter({FORGED_INCIDENT[how]: 1}):
            w.problems.append(
                f"{what} was not refused cleanly: answered {len(out)}, "
                f"state changed {before != after}, incidents {dict(grown)}"
            )

    def _forge(self, how: str, src: str, dst: str, session: SyncSession) -> bytes | None:
        """The bytes the attacker publishes, or None when it has nothing to replay."""
        w = self.world
        if how in ("replay", "stale_replay", "tampered"):
            now_inc = self._incarnation(dst)
            pool = [
                h
                for h in self.heard.get((src, dst), [])
                if (h.incarnation != now_inc) == (how == "stale_replay")
            ]
            if how == "replay" and len(self.connections.get((src, dst, now_inc), ())) > (
                REMEMBERED_PEER_SESSIONS
            ):
                return None  # some of its connections may have been forgotten
            if not pool:
                return None
            heard = w.rng.choice(pool[-30:])
            return encode(_tampered(heard.msg)) if how == "tampered" else heard.payload
        lie = self._lie(src, dst)
        if how == "unsealed":
            return encode(lie)
        # "wrong_key": signed by a real, enrolled key, but not the sender's.
        other = w.hub.key if src != HUB else w.nodes[dst].key
        key = other if how == "wrong_key" else self.key
        nonce = w.rng.randbytes(8).hex()
        return encode(seal(lie, key, session=nonce, counter=1, re=session.nonce))

    def _lie(self, src: str, dst: str) -> Control:
        """What would hurt if believed: 'you may write again', 'I hold nothing', 'send
        me everything'."""
        rng = self.world.rng
        node = dst if src == HUB else src
        vv = {node: rng.randint(0, 3), HUB: rng.randint(0, 3)}
        choice = rng.randrange(3)
        if choice == 0:
            return Hello(src, vv)
        if choice == 1:
            return Ack(src, vv)
        return Need(src, {node if src == HUB else HUB: (1, 1 + rng.randint(0, 50))})


# --- helpers ---------------------------------------------------------------------------


def _bind(fn: Callable[[str], None], name: str) -> Callable[[], None]:
    return functools.partial(fn, name)


@functools.cache
def _template() -> Path:
    """An empty, migrated ledger: copying it is much cheaper than migrating each file."""
    where = Path(tempfile.mkdtemp(prefix="shopfloor-sim-template-"))
    atexit.register(shutil.rmtree, where, True)
    path = where / "empty.db"
    ReplicaStore(f"sqlite:///{path}", origin="template", durable=False, registry=REGISTRY).close()
    return path


class _sqlite:
    """A plain sqlite3 connection to a ledger file, closed on exit."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _sigs(path: Path, origin: str, *, table: str = "ops") -> dict[int, set[str]]:
    """The signatures a ledger file holds per seq of `origin`: in `ops`, in
    `pending_ops` (past a gap), or in either (`table="both"`)."""
    out: dict[int, set[str]] = {}
    with _sqlite(path) as conn:
        if table in ("ops", "both"):
            rows = conn.execute("SELECT seq, sig FROM ops WHERE origin = ?", (origin,))
            for seq, sig in rows:
                out.setdefault(int(seq), set()).add(str(sig))
        if table in ("pending_ops", "both"):
            rows = conn.execute("SELECT seq, wire FROM pending_ops WHERE origin = ?", (origin,))
            for seq, wire in rows:
                out.setdefault(int(seq), set()).add(str(json.loads(wire)["sig"]))
    return out


def _sig(op: Op) -> str:
    return base64.b64encode(op.sig).decode("ascii")


def _blocked(store: ReplicaStore) -> set[str]:
    return {str(b["origin"]) for b in store.blocked_origins()}


def _held_for_a_person(store: ReplicaStore) -> bool:
    """Its writes held, with the incident saying the hub holds its ops past a gap
    nobody can fill (`SyncSession.reconcile_restore`)."""
    return store.local_writes_held is not None and bool(
        _incidents(store, origin=store.origin)["restore_gap"]
    )


def _incidents(store: ReplicaStore, *, origin: str | None = None) -> Counter[str]:
    si = schema.sync_incidents
    stmt = select(si.c.kind, func.sum(si.c.count)).group_by(si.c.kind)
    if origin is not None:
        stmt = stmt.where(si.c.origin == origin)
    with store.read() as conn:
        return Counter({str(kind): int(n) for kind, n in conn.execute(stmt)})


def _state(session: SyncSession, store: ReplicaStore) -> tuple[Any, ...]:
    """What a refused message must leave as it was (ops, hold and fresh word first)."""
    return (
        store.head_links(),
        store.local_writes_held,
        (session.fresh_peer_vv, session.fresh_peer_past_gaps),
        _blocked(store),
        dict(session.peer_vv),
        session.peer_nonce,
        session.nonce,
        session.connected,
        dict(session.sent_vv),
        [dict(p.top) for p in session.inflight],
        session.last_hello,
        store.peer_state(session.peer).vv,
    )


def _tampered(msg: Control) -> Control:
    """A genuine sealed message with its content changed under the same signature."""
    if isinstance(msg, Need):
        return replace(msg, ranges={o: (1, hi + 5) for o, (_, hi) in msg.ranges.items()})
    return replace(msg, vv={o: s + 1 for o, s in msg.vv.items()} or {HUB: 1})


def _fold_problems(name: str, store: ReplicaStore, ops: Any) -> list[str]:
    folded: Counter[tuple[str, str]] = Counter()
    for op in ops:
        if op.kind == "stock.moved":
            folded[(op.body["sku"], op.body["location"])] += int(op.body["qty"])
    with store.read() as conn:
        live = {k: q for k, q in stock_levels(conn).items() if q}
    if live != {k: q for k, q in folded.items() if q}:
        return [f"{name}'s stock on hand is not the fold of its stock moves"]
    return []


def _clock_problems(name: str, ops: Any, blocked: set[str]) -> list[str]:
    last: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    for op in sorted(ops, key=lambda o: (o.origin, o.seq)):
        prev = last.get(op.origin)
        if prev is not None and op.origin not in blocked and op.hlc <= prev[1]:
            why = f"ran back at seq {op.seq} ({op.hlc} after {prev[1]} at seq {prev[0]})"
            problems.append(f"{name}: the clock of {op.origin} {why}")
        last[op.origin] = (op.seq, op.hlc)
    return problems


def _catalog(store: ReplicaStore) -> dict[str, dict[str, Any]]:
    with store.read() as conn:
        return read_catalog(conn)


def run(
    seed: int,
    *,
    nodes: int = 3,
    writes: int = 120,
    faults: Faults | None = None,
    chaos: Chaos | None = None,
) -> SimReport:
    """One seed, start to verdict, in a throwaway directory."""
    workdir = Path(tempfile.mkdtemp(prefix=f"shopfloor-sim-{seed}-"))
    world = SimWorld(seed, workdir, nodes=nodes, writes=writes, faults=faults, chaos=chaos)
    try:
        return world.run()
    finally:
        world.close()
        shutil.rmtree(workdir, ignore_errors=True)
