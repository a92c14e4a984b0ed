"""The sync session: replication between this replica and one peer, as a state
machine with no I/O of its own (the way h11 does HTTP).

Feed it what happens — `connect(now)`, `receive(message, now)`, `tick(now)`,
`local_changes(now)` — and it returns the messages to send. MQTT and the in-memory
test network are just pumps around it, so the simulation tests exercise exactly
the code that runs in the field.

Protocol (both directions are symmetric):
- On (re)connect each side says `hello` with its version vector. The answer is an
  `ack` with the receiver's vector, so each side learns what the other holds and
  sends what it lacks, from the peer's acknowledged vector: everything unacked is
  sent again after any reconnect.
- Ops go in pages, stop-and-wait: one page in flight until it is acked. A page that
  is not acked within `resend_after` is sent again (go-back-N from the last ack), so
  lost, duplicated and reordered messages only cost time.
- An op that arrives ahead of a gap is held by the store and the gap is asked for
  with `need`; nothing is skipped.
- A periodic `hello` is the anti-entropy heartbeat: if a broker dropped messages
  silently, the vectors show it and the gap is refilled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sync_protocol.errors import SignatureRejected
from sync_protocol.messages import Ack, Hello, Message, Need, OpsPage
from sync_protocol.ops import Op, canonical_json
from sync_protocol.store.replica import ApplyResult, ReplicaStore
from sync_protocol.version_vector import VersionVector, dominates, merge

log = logging.getLogger(__name__)

OriginCheck = Callable[[Op], str | None]
"""Returns why the op may not come from this peer, or None when it may."""


@dataclass(frozen=True)
class SessionConfig:
    page_ops: int = 2000
    page_bytes: int = 1_000_000
    resend_after: float = 5.0
    heartbeat_every: float = 15.0


@dataclass
class SessionStats:
    ops_received: int = 0
    ops_applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    pages_sent: int = 0
    resends: int = 0


def only_from_origin(peer: str) -> OriginCheck:
    """The hub's rule: a node may only publish ops it created itself."""

    def check(op: Op) -> str | None:
        if op.origin != peer:
            return f"op {op.origin}/{op.seq} arrived from node {peer!r}, which did not create it"
        return None

    return check


def only_from(origins: Iterable[str]) -> OriginCheck:
    """A node's rule: the hub relays only its own ops and the node's own (restore)."""
    allowed = frozenset(origins)

    def check(op: Op) -> str | None:
        if op.origin not in allowed:
            return f"op {op.origin}/{op.seq} is not of an origin relayed to this node"
        return None

    return check


class SyncSession:
    def __init__(
        self,
        replica: ReplicaStore,
        peer: str,
        *,
        offer: Iterable[str] | None,
        accept: OriginCheck,
        config: SessionConfig | None = None,
    ) -> None:
        self.replica = replica
        self.me = replica.origin
        self.peer = peer
        self.offer = frozenset(offer) if offer is not None else None
        self.accept = accept
        self.config = config or SessionConfig()
        self.peer_vv: VersionVector = replica.peer_state(peer).vv
        self.connected = False
        self.inflight: VersionVector | None = None
        self.sent_at = 0.0
        self.last_hello = -math.inf
        # Whether the peer has told us, since this process started, what it holds.
        self.heard_from_peer = False
        self.stats = SessionStats()
        self._keys = replica.keyring()

    # --- events in ---------------------------------------------------------------------

    def connect(self, now: float) -> list[Message]:
        """The link is up (again): forget what was in flight and say hello."""
        self.connected = True
        self.inflight = None
        self.last_hello = now
        return [Hello(self.me, self.replica.version_vector())]

    def disconnect(self) -> None:
        self.connected = False
        self.inflight = None

    def receive(self, msg: Message, now: float) -> list[Message]:
        if msg.sender != self.peer:
            self._incident(
                "rejected", f"message from {msg.sender!r} on the session with {self.peer!r}", now
            )
            return []
        if not self.connected:
            # Hearing from the peer proves the link is up.
            self.connected = True
        if isinstance(msg, Hello | Ack):
            self.heard_from_peer = True
        if isinstance(msg, Hello):
            # Replace, not merge: a peer restored from a backup holds less than it
            # acked before, and must be sent it again.
            self.peer_vv = dict(msg.vv)
            self.inflight = None
            self.replica.save_peer(self.peer, vv=self.peer_vv, seen_ms=_ms(now))
            return [Ack(self.me, self.replica.version_vector()), *self._pump(now)]
        if isinstance(msg, Ack):
            self.peer_vv = merge(self.peer_vv, msg.vv)
            self.replica.save_peer(self.peer, vv=self.peer_vv, seen_ms=_ms(now), ack_ms=_ms(now))
            if self.inflight is not None and dominates(self.peer_vv, self.inflight):
                self.inflight = None
            return self._pump(now)
        if isinstance(msg, OpsPage):
            return self._ingest(msg, now)
        return self._answer_need(msg)

    def tick(self, now: float) -> list[Message]:
        if not self.connected:
            return []
        out: list[Message] = []
        if self.inflight is not None and now - self.sent_at >= self.config.resend_after:
            # The page or its ack was lost: go back to the last ack and ask again.
            self.inflight = None
            self.stats.resends += 1
            self.last_hello = now
            out.append(Hello(self.me, self.replica.version_vector()))
        elif now - self.last_hello >= self.config.heartbeat_every:
            self.last_hello = now
            out.append(Hello(self.me, self.replica.version_vector()))
        return [*out, *self._pump(now)]

    def local_changes(self, now: float) -> list[Message]:
        """New ops were written locally (or arrived for relay): send if idle."""
        return self._pump(now)

    # --- what the peer lacks -----------------------------------------------------------

    def unacked(self) -> int:
        """Ops this replica offers that the peer has not acknowledged."""
        mine = self.replica.version_vector()
        origins = self.offer if self.offer is not None else mine.keys()
        return sum(max(0, mine.get(o, 0) - self.peer_vv.get(o, 0)) for o in origins)

    def _pump(self, now: float) -> list[Message]:
        if not self.connected or self.inflight is not None:
            return []
        ops = self.replica.ops_after(
            self.peer_vv,
            origins=self.offer,
            limit=self.config.page_ops,
            max_bytes=self.config.page_bytes,
        )
        if not ops:
            return []
        top: VersionVector = {}
        for op in ops:
            top[op.origin] = max(top.get(op.origin, 0), op.seq)
        self.inflight = top
        self.sent_at = now
        self.stats.pages_sent += 1
        return [OpsPage(self.me, ops, more=len(ops) >= self.config.page_ops)]

    def _answer_need(self, need: Need) -> list[Message]:
        ops: list[Op] = []
        for origin, (lo, hi) in sorted(need.ranges.items()):
            if self.offer is not None and origin not in self.offer:
                continue
            room = self.config.page_ops - len(ops)
            if room <= 0:
                break
            ops.extend(self.replica.ops_range(origin, lo, min(hi, lo + room - 1)))
        return [OpsPage(self.me, ops)] if ops else []

    # --- what the peer sent ------------------------------------------------------------

    def _ingest(self, page: OpsPage, now: float) -> list[Message]:
        for raw, why in page.invalid:
            self._incident("rejected", why, now, payload=raw)
        good: list[Op] = []
        for op in page.ops:
            self.stats.ops_received += 1
            reason = (
                self.accept(op) or self._signature_problem(op) or self.replica.registry.problem(op)
            )
            if reason is not None:
                self._incident("rejected", reason, now, op=op)
                continue
            if self.replica.clock.is_too_far_ahead(op.hlc):
                # Kept (it is a signed fact) but flagged, and the clock does not follow it.
                self._incident(
                    "flagged", f"op stamped beyond the clock guard (hlc {op.hlc})", now, op=op
                )
            good.append(op)
        result: ApplyResult = self.replica.apply(good, now_ms=_ms(now)) if good else ApplyResult()
        self.stats.ops_applied += len(result.applied)
        self.stats.duplicates += result.duplicates
        if good and result.duplicates == len(good):
            log.info(
                "ignored %d duplicate ops from %s (a replayed or resent page)",
                result.duplicates,
                self.peer,
            )
        out: list[Message] = [Ack(self.me, self.replica.version_vector())]
        origins = {op.origin for op in good}
        gaps = {o: r for o, r in self.replica.gaps().items() if o in origins}
        if gaps:
            out.append(Need(self.me, gaps))
        return out

    def _signature_problem(self, op: Op) -> str | None:
        if op.origin not in self._keys:
            self._keys = self.replica.keyring()  # a node may have been enrolled since
        try:
            self._keys.verify(op)
        except SignatureRejected as exc:
            return str(exc)
        return None

    def _incident(
        self,
        disposition: str,
        reason: str,
        now: float,
        *,
        op: Op | None = None,
        payload: object | None = None,
    ) -> None:
        if disposition == "rejected":
            self.stats.rejected += 1
        log.warning("sync %s from %s: %s", disposition, self.peer, reason)
        raw = op.to_wire() if op is not None else payload
        self.replica.record_incident(
            disposition=disposition,
            reason=reason,
            peer=self.peer,
            origin=op.origin if op else None,
            seq=op.seq if op else None,
            payload=canonical_json(raw).decode("utf-8") if raw is not None else None,
            at_ms=_ms(now),
        )


def _ms(now: float) -> int:
    return int(now * 1000)
