"""The sync session: replication between this replica and one peer, as a state
machine with no I/O of its own (the way h11 does HTTP).

Feed it what happens — `connect(now)`, `receive(message, now)`, `tick(now)`,
`local_changes(now)` — and it returns the messages to send. MQTT and the in-memory
test network are just pumps around it, so the simulation tests exercise exactly
the code that runs in the field.

Protocol (both directions are symmetric):
- On (re)connect each side says `hello` with its version vector and the chain link at
  each head. The answer is an `ack` with the receiver's vector, so each side learns
  what the other holds and sends what it lacks.
- Every control message (hello, ack, need) is sealed: signed by the sender, with the
  sender's nonce for this connection and a counter that grows within it, and `re`, the
  receiver's nonce as the sender last heard it. An unsealed, forged or replayed one is
  refused with an incident. `fresh_peer_vv` (heads) and `fresh_peer_past_gaps` (ops
  held past a gap) hold only what fresh messages (re == our nonce: sent after this
  connection began) said: a restored node resumes writing on that word alone
  (`reconcile_restore`), and only above every seq of its own the peer holds.
- Ops go in pages, a window of `window_pages` in flight (acks by version vector slide
  it). When the oldest is not acked within `resend_after`, only the ops from the
  peer's last ack up to that page go again; later pages the peer holds ahead of the gap
  and drains when it fills. Ops that arrive from the peer count as held by it at once
  (never echoed back). A reconnect forgets what was in flight: at most one window
  travels twice.
- An op that arrives ahead of a gap is held by the store and the gap is asked for
  with `need`; nothing is skipped. Each page says the chain link before its first op of
  each origin, so a receiver whose history of that origin differs finds out at once.
- A periodic `hello` is the anti-entropy heartbeat: if a broker dropped messages
  silently, the vectors show it and the gap is refilled; the links prove both hold the
  same ops, or expose equivocation (two ops under one (origin, seq)): the origin is
  blocked on this replica until a person decides.
"""

from __future__ import annotations

import itertools
import logging
import math
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from sync_protocol.chain import GENESIS, chain_of, proof_bytes
from sync_protocol.errors import ConfigurationError, SignatureRejected
from sync_protocol.messages import Ack, Control, Hello, Message, Need, OpsPage, seal
from sync_protocol.ops import Op, canonical_json
from sync_protocol.signing import KeyRing
from sync_protocol.store.replica import ApplyResult, Equivocation, ReplicaStore
from sync_protocol.version_vector import VersionVector, dominates, merge

log = logging.getLogger(__name__)

OriginCheck = Callable[[Op], str | None]
"""Returns why the op may not come from this peer, or None when it may."""

# How many of a peer's connections (nonces) this session remembers counters for: a
# hub runs several workers, each its own connection with a node.
REMEMBERED_PEER_SESSIONS = 16


@dataclass(frozen=True)
class SessionConfig:
    page_ops: int = 2000
    page_bytes: int = 1_000_000
    window_pages: int = 4
    resend_after: float = 5.0
    heartbeat_every: float = 15.0
    save_peer_every: float = 1.0


@dataclass
class SessionStats:
    ops_received: int = 0
    ops_applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    pages_sent: int = 0
    resends: int = 0
    equivocations: int = 0
    ops_proven: int = 0  # taken on their page's proof, without a signature check each


@dataclass
class _Page:
    top: VersionVector
    sent_at: float


@dataclass
class _PeerCounters:
    """The last counter seen in each of the peer's recent connections."""

    last: OrderedDict[str, int] = field(default_factory=OrderedDict)

    def accept(self, session: str, counter: int) -> bool:
        seen = self.last.get(session)
        if seen is not None and counter <= seen:
            return False
        self.last[session] = counter
        self.last.move_to_end(session)
        while len(self.last) > REMEMBERED_PEER_SESSIONS:
            self.last.popitem(last=False)
        return True


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
        if replica.key is None:
            raise ConfigurationError("a sync session seals its messages: the replica needs a key")
        self.replica = replica
        self.me = replica.origin
        self.peer = peer
        self.offer = frozenset(offer) if offer is not None else None
        # The origins the two sides talk about: what we offer and what the peer does.
        self.shared = self.offer | {peer} if self.offer is not None else None
        self.accept = accept
        self.config = config or SessionConfig()
        self.peer_vv: VersionVector = replica.peer_state(peer).vv
        # What fresh messages of the peer (sent after this connection began) said it holds:
        # the heads, and the highest seq of each origin it holds past a gap.
        self.fresh_peer_vv: VersionVector | None = None
        self.fresh_peer_past_gaps: VersionVector | None = None
        self.connected = False
        self.nonce = secrets.token_hex(8)
        self.peer_nonce: str | None = None
        self._counter = 0
        self._peer_counters = _PeerCounters()
        self.sent_vv: VersionVector = {}
        self.inflight: list[_Page] = []
        self.last_hello = -math.inf
        # Whether the peer has told us, since this process started, what it holds.
        self.heard_from_peer = False
        self.stats = SessionStats()
        # What the peer holds is saved at most every `save_peer_every` s (and at
        # disconnect): a lost save costs a resend, a save per ack costs a write per page.
        self._peer_unsaved: dict[str, int] = {}
        self._peer_saved_at = -math.inf

    # --- events in ---------------------------------------------------------------------

    def connect(self, now: float) -> list[Message]:
        """The link is up (again): a new nonce, forget what was in flight, say hello."""
        self.connected = True
        self.nonce = secrets.token_hex(8)
        self._counter = 0
        self.fresh_peer_vv = None
        self.fresh_peer_past_gaps = None
        self._forget_inflight()
        self.last_hello = now
        return [self._hello()]

    def disconnect(self) -> None:
        self.connected = False
        self._forget_inflight()
        self._save_peer()

    def receive(self, msg: Message, now: float) -> list[Message]:
        if msg.sender != self.peer:
            self._incident(
                "rejected",
                "wrong_sender",
                f"message from {msg.sender!r} on the session with {self.peer!r}",
                now,
            )
            return []
        if isinstance(msg, OpsPage):
            if msg.nonce:
                self.peer_nonce = msg.nonce
            self._hearing(now)
            return self._ingest(msg, now)
        fresh = self._unseal(msg, now)
        if fresh is None:
            return []
        self._hearing(now)
        if isinstance(msg, Hello):
            return self._hello_received(msg, fresh, now)
        if isinstance(msg, Ack):
            self.peer_vv = merge(self.peer_vv, msg.vv)
            if fresh:
                self._fresh(msg)
            self._compare_past_gaps(msg, now)
            self._note_peer(now, acked=True)
            self._slide()
            return self._pump(now)
        return self._answer_need(msg)

    def authentic(self, msg: Message) -> bool:
        """Whether `msg` carries the peer's own signature and is no replay we can tell:
        a control message whose seal verifies with a counter above the last of its
        connection, or a page whose proof (else its first op) verifies. Records
        nothing (`receive` does): for a caller that must not act on a forgery before
        `receive` has refused it — e.g. `connect` on a peer's first word."""
        if msg.sender != self.peer:
            return False
        if isinstance(msg, OpsPage):
            if self._proven(msg):
                return True
            return bool(msg.ops) and self._signature_problem(msg.ops[0]) is None
        sealed = msg.seal
        if sealed is None or not sealed.sig:
            return False
        seen = self._peer_counters.last.get(sealed.session)
        if seen is not None and sealed.counter <= seen:
            return False
        check = partial(_verify_bytes, self.peer, sealed.signed, sealed.sig)
        return self._verified(check) is None

    def tick(self, now: float) -> list[Message]:
        """Resends and heartbeats. An idle session touches no database here: new ops
        are sent when they are written (`local_changes`) or acked room opens."""
        if not self.connected:
            return []
        if self._peer_unsaved and now - self._peer_saved_at >= self.config.save_peer_every:
            self._save_peer()
        out: list[Message] = []
        oldest = self.inflight[0] if self.inflight else None
        if oldest is not None and now - oldest.sent_at >= self.config.resend_after:
            # That page or its ack was lost: send its ops again (from the last ack), and
            # ask what the peer holds; the later pages stay in flight.
            self.stats.resends += 1
            oldest.sent_at = now
            self.last_hello = now
            out.append(self._hello())
            page = self._page(self.peer_vv, upto=oldest.top)
            if page is not None:
                out.append(page)
        elif now - self.last_hello >= self.config.heartbeat_every:
            self.last_hello = now
            out.append(self._hello())
        return [*out, *self._pump(now)] if out else []

    def local_changes(self, now: float) -> list[Message]:
        """New ops were written locally (or arrived for relay): send if the window
        has room."""
        return self._pump(now)

    # --- seals ---------------------------------------------------------------------------

    def _sealed(self, msg: Control) -> Control:
        self._counter += 1
        assert self.replica.key is not None
        return seal(
            msg, self.replica.key, session=self.nonce, counter=self._counter, re=self.peer_nonce
        )

    def _hello(self) -> Message:
        held = self.replica.holdings(self.shared)
        vv = {o: seq for o, (seq, _) in held.heads.items()}
        links = {o: link for o, (_, link) in held.heads.items()}
        return self._sealed(Hello(self.me, vv, links, held=held.past_gaps))

    def _ack(self) -> Message:
        held = self.replica.holdings(self.shared)
        vv = {o: seq for o, (seq, _) in held.heads.items()}
        return self._sealed(Ack(self.me, vv, held=held.past_gaps))

    def _vv(self) -> VersionVector:
        return {o: seq for o, (seq, _) in self.replica.head_links(self.shared).items()}

    def _unseal(self, msg: Control, now: float) -> bool | None:
        """Whether the sealed `msg` is fresh; None (and an incident) when it is unsealed,
        forged or replayed."""
        sealed = msg.seal
        if sealed is None or not sealed.sig:
            self._incident("rejected", "unsealed", f"unsealed {type(msg).__name__.lower()}", now)
            return None
        problem = self._verified(
            lambda keys: keys.verify_bytes(self.peer, sealed.signed, sealed.sig)
        )
        if problem is not None:
            self._incident("rejected", "bad_seal", problem, now)
            return None
        if not self._peer_counters.accept(sealed.session, sealed.counter):
            self._incident(
                "rejected",
                "replayed",
                f"replayed {type(msg).__name__.lower()} (connection {sealed.session}, "
                f"counter {sealed.counter})",
                now,
            )
            return None
        self.peer_nonce = sealed.session
        return sealed.re == self.nonce

    def _hearing(self, now: float) -> None:
        if not self.connected:
            # Hearing from the peer proves the link is up.
            self.connected = True

    def _note_peer(self, now: float, *, acked: bool = False) -> None:
        self._peer_unsaved["seen_ms"] = _ms(now)
        if acked:
            self._peer_unsaved["ack_ms"] = _ms(now)
        if now - self._peer_saved_at >= self.config.save_peer_every:
            self._save_peer(now)

    def _save_peer(self, now: float | None = None) -> None:
        if not self._peer_unsaved:
            return
        unsaved, self._peer_unsaved = self._peer_unsaved, {}
        self.replica.save_peer(
            self.peer, vv=self.peer_vv, seen_ms=unsaved["seen_ms"], ack_ms=unsaved.get("ack_ms")
        )
        self._peer_saved_at = now if now is not None else unsaved["seen_ms"] / 1000

    def _fresh(self, msg: Hello | Ack) -> None:
        self.fresh_peer_vv = merge(self.fresh_peer_vv or {}, msg.vv)
        tops = {o: seq for o, (seq, _) in msg.held.items()}
        self.fresh_peer_past_gaps = merge(self.fresh_peer_past_gaps or {}, tops)

    # --- a replica restored from a backup ----------------------------------------------

    def reconcile_restore(self, now: float) -> bool:
        """For a replica restored from a backup (its local writes held): lift the hold,
        and return True, once the peer's fresh word says it holds no op of this
        replica's origin above its head, past a gap or not: its next seq is then one
        nobody has used. While the peer holds some past a gap this replica cannot fill
        (it holds nothing the peer lacks below the gap: those ops were lost with the
        ledger the backup replaced), the hold stays, says why, and an incident asks a
        person to decide; should the gap fill after all, the hold lifts as above."""
        if self.replica.local_writes_held is None or self.fresh_peer_vv is None:
            return False
        head = self.replica.head(self.me)
        peer_head = self.fresh_peer_vv.get(self.me, 0)
        past_gap = (self.fresh_peer_past_gaps or {}).get(self.me, 0)
        if head >= max(peer_head, past_gap):
            self.replica.local_writes_held = None
            return True
        # A gap only while the peer's past-gap top is above its head: the tops of
        # earlier words stay in `fresh_peer_past_gaps` after the gap has filled.
        if past_gap > peer_head >= head:
            self._hold_for_a_person(peer_head + 1, past_gap, now)
        return False

    def _hold_for_a_person(self, gap_from: int, past_gap: int, now: float) -> None:
        why = (
            f"restored from a backup; {self.peer} holds own ops up to seq {past_gap} past "
            f"a gap from seq {gap_from} that no one can fill: a person must decide"
        )
        if self.replica.local_writes_held == why:
            return
        self.replica.local_writes_held = why
        log.error("sync with %s: %s", self.peer, why)
        self.replica.record_incident(
            disposition="held",
            kind="restore_gap",
            reason=(
                f"This node was restored from a backup, but {self.peer} holds its ops up to "
                f"seq {past_gap}, past a gap from seq {gap_from}: the ops in the gap were "
                "lost with the ledger the backup replaced, and no one holds them any more. "
                "Writing now would reuse seqs already taken, so sales and other writes "
                "on this node stay stopped. A person must decide (for instance, provision "
                "this node again from the hub under a new id); the held ops are kept."
            ),
            peer=self.peer,
            origin=self.me,
            seq=gap_from,
            at_ms=_ms(now),
        )

    # --- what the peer holds -------------------------------------------------------------

    def _hello_received(self, msg: Hello, fresh: bool, now: float) -> list[Message]:
        self.heard_from_peer = True
        if fresh:
            self._fresh(msg)
        lost = {o for o, seq in self.peer_vv.items() if msg.vv.get(o, 0) < seq}
        # Replace, not merge: a peer restored from a backup holds less than it acked
        # before, and must be sent it again; what is in flight beyond that stays.
        self.peer_vv = dict(msg.vv)
        if lost:
            self.sent_vv = {o: s for o, s in self.sent_vv.items() if o not in lost}
            self.inflight = []
        self._slide()
        self._note_peer(now)
        self._compare_links(msg, now)
        self._compare_past_gaps(msg, now)
        return [self._ack(), *self._pump(now)]

    def _compare_links(self, msg: Hello, now: float) -> None:
        """The anti-entropy proof: where both hold an origin up to the same seq, the
        chain links must be equal."""
        asked = {o: msg.vv[o] for o in msg.links if msg.vv.get(o, 0) > 0}
        if self.shared is not None:
            asked = {o: s for o, s in asked.items() if o in self.shared}
        if not asked:
            return
        mine = self.replica.chain_links(asked)
        for origin, link in sorted(mine.items()):
            if link != msg.links[origin]:
                self._equivocation(
                    Equivocation(
                        origin,
                        asked[origin],
                        held=f"chain link {link}",
                        offered=f"chain link {msg.links[origin]} (from {self.peer})",
                    ),
                    now,
                )

    def _compare_past_gaps(self, msg: Hello | Ack, now: float) -> None:
        """Where the peer holds an origin past a gap up to a seq this replica holds in
        order, the link there must be ours: the peer's held ops are of our history."""
        asked = {o: seq for o, (seq, link) in msg.held.items() if link}
        if self.shared is not None:
            asked = {o: s for o, s in asked.items() if o in self.shared}
        if not asked:
            return
        for origin, link in sorted(self.replica.chain_links(asked).items()):
            said = msg.held[origin][1]
            if link != said:
                self._equivocation(
                    Equivocation(
                        origin,
                        asked[origin],
                        held=f"chain link {link}",
                        offered=f"chain link {said} (held past a gap by {self.peer})",
                    ),
                    now,
                )

    def unacked(self) -> int:
        """Ops this replica offers that the peer has not acknowledged."""
        mine = self._vv()
        origins = self.offer if self.offer is not None else mine.keys()
        return sum(max(0, mine.get(o, 0) - self.peer_vv.get(o, 0)) for o in origins)

    def _forget_inflight(self) -> None:
        self.inflight = []
        self.sent_vv = {}

    def _slide(self) -> None:
        self.inflight = [p for p in self.inflight if not dominates(self.peer_vv, p.top)]
        if not self.inflight:
            self.sent_vv = {}

    # --- what the peer lacks -----------------------------------------------------------

    def _pump(self, now: float) -> list[Message]:
        if not self.connected:
            return []
        out: list[Message] = []
        while len(self.inflight) < self.config.window_pages:
            page = self._page(merge(self.peer_vv, self.sent_vv))
            if page is None:
                break
            top = _top(page.ops)
            self.sent_vv = merge(self.sent_vv, top)
            self.inflight.append(_Page(top, now))
            out.append(page)
        return out

    def _page(self, after: VersionVector, *, upto: VersionVector | None = None) -> OpsPage | None:
        ops = self.replica.ops_after(
            after,
            origins=self.offer,
            limit=self.config.page_ops,
            max_bytes=self.config.page_bytes,
        )
        if upto is not None:
            ops = [op for op in ops if op.seq <= upto.get(op.origin, 0)]
        if not ops:
            return None
        self.stats.pages_sent += 1
        return self._page_of(ops, more=len(ops) >= self.config.page_ops)

    def _page_of(self, ops: list[Op], *, more: bool = False) -> OpsPage:
        """A page of `ops`, with the link before each origin's first op, and this
        replica's proof for its own ops (its signature over the link at the last)."""
        after = self._links_before(ops)
        proof: dict[str, bytes] = {}
        own = [op for op in ops if op.origin == self.me]
        if own and self.replica.key is not None:
            link = chain_of(after[self.me], own)
            proof[self.me] = self.replica.key.sign_bytes(proof_bytes(self.me, own[-1].seq, link))
        return OpsPage(self.me, ops, more=more, after=after, nonce=self.nonce, proof=proof)

    def _links_before(self, ops: list[Op]) -> dict[str, str]:
        firsts: dict[str, int] = {}
        for op in ops:
            firsts[op.origin] = min(firsts.get(op.origin, op.seq), op.seq)
        links = self.replica.chain_links({o: s - 1 for o, s in firsts.items() if s > 1})
        return {o: links.get(o, GENESIS) if s > 1 else GENESIS for o, s in firsts.items()}

    def _proven(self, page: OpsPage) -> set[str]:
        """The origins whose ops in `page` are vouched for by one valid proof: the
        origin signed the chain link its ops here lead to from the link before them.
        Their ops need no signature check one by one (a chain link covers each op
        and its signature)."""
        proven: set[str] = set()
        for origin, sig in page.proof.items():
            ops = [op for op in page.ops if op.origin == origin]
            before = page.after.get(origin)
            if not ops or before is None:
                continue
            if any(b.seq != a.seq + 1 for a, b in itertools.pairwise(ops)):
                continue  # not one run of seqs: check each op instead
            claim = proof_bytes(origin, ops[-1].seq, chain_of(before, ops))
            if self._verified(partial(_verify_bytes, origin, claim, sig)) is None:
                proven.add(origin)
        return proven

    def _answer_need(self, need: Need) -> list[Message]:
        ops: list[Op] = []
        for origin, (lo, hi) in sorted(need.ranges.items()):
            if self.offer is not None and origin not in self.offer:
                continue
            room = self.config.page_ops - len(ops)
            if room <= 0:
                break
            ops.extend(self.replica.ops_range(origin, lo, min(hi, lo + room - 1)))
        if not ops:
            return []
        return [self._page_of(ops)]

    # --- what the peer sent ------------------------------------------------------------

    def _ingest(self, page: OpsPage, now: float) -> list[Message]:
        for raw, why in page.invalid:
            self._incident("rejected", "invalid_op", why, now, payload=raw)
        good: list[Op] = []
        proven = self._proven(page)
        for op in page.ops:
            self.stats.ops_received += 1
            signed = op.origin in proven
            self.stats.ops_proven += signed
            refused = self._refusal(op, signed=signed)
            if refused is not None:
                self._incident("rejected", refused[0], refused[1], now, op=op)
                continue
            if self.replica.clock.is_too_far_ahead(op.hlc):
                # Kept (it is a signed fact) but flagged, and the clock does not follow it.
                self._incident(
                    "flagged",
                    "clock_ahead",
                    f"op stamped beyond the clock guard (hlc {op.hlc})",
                    now,
                    op=op,
                )
            good.append(op)
        result: ApplyResult = (
            self.replica.apply(good, now_ms=_ms(now), after=page.after) if good else ApplyResult()
        )
        self.stats.ops_applied += len(result.applied)
        self.stats.duplicates += result.duplicates
        for fork in result.equivocations:
            self._equivocation(fork, now, recorded=True)
        if result.blocked and not result.equivocations:
            self._incident(
                "rejected",
                "blocked_origin",
                f"{result.blocked} ops of a blocked origin refused (equivocation found before)",
                now,
            )
        if good and result.duplicates == len(good):
            log.info(
                "ignored %d duplicate ops from %s (a replayed or resent page)",
                result.duplicates,
                self.peer,
            )
        # The peer sends each origin's ops in seq order from what it holds without gaps:
        # it holds everything up to the last one it sent. Never send those back.
        top = _top(good)
        blocked = {o for o in top if self.replica.is_blocked(o)}
        stored = {o: s for o, s in top.items() if o not in blocked}
        self.peer_vv = merge(self.peer_vv, stored)
        out: list[Message] = [self._ack()]
        # Nothing more of a blocked origin applies: asking for its gap would only loop.
        origins = set(top) - blocked
        gaps = {o: r for o, r in self.replica.gaps().items() if o in origins}
        if gaps:
            out.append(self._sealed(Need(self.me, gaps)))
        return out

    def _refusal(self, op: Op, *, signed: bool) -> tuple[str, str] | None:
        """(incident kind, reason) when `op` may not be taken from this peer; `signed`:
        its signature is already vouched for by the page's proof."""
        if (reason := self.accept(op)) is not None:
            return "not_allowed", reason
        if not signed and (reason := self._signature_problem(op)) is not None:
            return "bad_signature", reason
        if (reason := self.replica.registry.problem(op)) is not None:
            return "invalid_body", reason
        return None

    def _signature_problem(self, op: Op) -> str | None:
        return self._verified(lambda keys: keys.verify(op))

    def _verified(self, check: Callable[[KeyRing], None]) -> str | None:
        """Why `check` fails with the shared keyring, read again once (a node may have
        been enrolled, or its key changed, by another process); None when it passes."""
        try:
            check(self.replica.keyring())
            return None
        except SignatureRejected:
            pass
        try:
            check(self.replica.keyring(fresh=True))
        except SignatureRejected as exc:
            return str(exc)
        return None

    def _equivocation(self, fork: Equivocation, now: float, *, recorded: bool = False) -> None:
        """Two histories of one origin: block it here, and say so loudly."""
        self.stats.equivocations += 1
        if not recorded:
            self.replica.block_origin(fork, at_ms=_ms(now))
        self.replica.record_incident(
            disposition="blocked",
            kind="equivocation",
            reason=fork.reason,
            peer=self.peer,
            origin=fork.origin,
            seq=fork.seq,
            payload=canonical_json({"held": fork.held, "offered": fork.offered}).decode(),
            at_ms=_ms(now),
        )
        log.error("sync with %s: %s", self.peer, fork.reason)

    def _incident(
        self,
        disposition: str,
        kind: str,
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
            kind=kind,
            reason=reason,
            peer=self.peer,
            origin=op.origin if op else None,
            seq=op.seq if op else None,
            payload=canonical_json(raw).decode("utf-8") if raw is not None else None,
            at_ms=_ms(now),
        )


def _verify_bytes(origin: str, data: bytes, sig: bytes, keys: KeyRing) -> None:
    keys.verify_bytes(origin, data, sig)


def _top(ops: Iterable[Op]) -> VersionVector:
    top: VersionVector = {}
    for op in ops:
        top[op.origin] = max(top.get(op.origin, 0), op.seq)
    return top


def _ms(now: float) -> int:
    return int(now * 1000)
