"""Hub ingest: one MQTT link, a sync session for each node whose lease this worker
holds, one pump thread. docs/hub-workers.md has the design and why.

Nodes publish on `sf/{tenant}/node/{node}/up`. Several workers share one database and
one broker; a node's session runs on exactly one of them, the holder of its lease
(`cloud/workers/leases.py`), so two workers never send a node the same pages:

- Every worker is in the shared subscription `$share/hub/sf/{tenant}/node/+/up`: that
  is how a node nobody serves is found. Its message goes to one worker, which takes the
  free (or expired) lease and serves the node from then on.
- The holder subscribes to the node's `up` topic itself (plainly, subscription id
  `OWN_ROUTE`), so it receives every message of the node, in the order sent. Once the
  broker granted that subscription the holder drops the copies the shared subscription
  brings it; another worker that gets one drops it too.
- While a lease is young the holder's own subscription may not be in place: a worker
  that gets a message of a node leased to another then passes it on to the holder's
  inbox (`sf/{tenant}/hub/{worker}/node/{node}/up`); the holder drops repeats of what it
  already had, and asks for no gap yet (a page passed on may still be on its way).
- A worker renews its leases once a second in one statement and sends to a node only
  while its lease holds; a lease lost (it expired, another took it) ends the session.
  A dead worker's nodes are taken over at their next message after `LEASE_MS`; a
  worker that stops cleanly releases its leases at once.

A message is only accepted on the topic of the node that sent it, and an op only from
the node that created it. Without MQTT 5 (amqtt) there are no shared subscriptions:
every worker subscribes to every node's topic and only the lease holder acts.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import fields

from cloud.schema import WORKERS
from cloud.workers.leases import LEASE_MS, Lease, LeaseBook
from sync_protocol.errors import ConfigurationError, MalformedMessage, SignatureRejected
from sync_protocol.messages import Ack, Hello, Message, Need, decode, encode
from sync_protocol.origins import HUB
from sync_protocol.presence import read_presence
from sync_protocol.session import SessionConfig, SessionStats, SyncSession, only_from_origin
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import (
    NodeTopics,
    all_status,
    all_up,
    all_worker_status,
    forwarded_node,
    forwarded_up,
    hub_wake,
    node_of,
    worker_inbox,
    worker_of_status,
    worker_status,
)
from sync_protocol.transport.mqtt import (
    BrokerAddress,
    Connected,
    Disconnected,
    LinkEvent,
    MqttLink,
    Received,
    Subscribed,
    Wake,
    Will,
)
from sync_protocol.transport.pump import LinkPump

log = logging.getLogger(__name__)


GREET_AFTER = 1.0
"""Seconds a node may be online (its presence says so) without saying hello before the
hub greets it: its hello may have gone out before the hub (re)subscribed, e.g. right
after a broker restart, and without a greeting the hub would only learn it is back at
its next heartbeat."""

RENEW_EVERY = 1.0
"""Seconds between renewals of this worker's leases (one statement for all of them)."""

SEND_MARGIN = 0.5
"""A worker stops sending to a node this long before its lease would expire unrenewed,
so that the worker which takes it over next never overlaps with it."""

YOUNG_FOR = 2.0
"""Seconds after a lease is taken during which other workers pass the node's messages
on to the holder, whose own subscription to the node may not be in place yet."""

REMEMBERED_PAYLOADS = 64
"""Payloads of a young lease remembered to drop a message that came twice (once
passed on by another worker, once on this worker's own subscription)."""

SHARED_ROUTE = 1
OWN_ROUTE = 2
"""Subscription identifiers: the shared subscription of every node's `up`, and this
worker's own subscriptions of the nodes it serves."""


class HubIngest:
    def __init__(
        self,
        store: ReplicaStore,
        tenant: str,
        broker: BrokerAddress,
        *,
        shared: bool = True,
        worker_id: str = "1",
        config: SessionConfig | None = None,
        lease_ms: int = LEASE_MS,
    ) -> None:
        if WORKERS not in store.registry.areas:
            raise ConfigurationError(
                "the hub ingest keeps session leases: open the hub's store with "
                "cloud.schema.HUB_REGISTRY",
                message_zh="总部接入需要会话租约表：请用 HUB_REGISTRY 打开总部数据库",
            )
        self.store = store
        self.tenant = tenant
        self.worker_id = worker_id
        self.shared = shared and broker.protocol == "5"
        self.config = config
        self.leases = LeaseBook(store.engine, worker_id, lease_ms=lease_ms)
        # The sessions of the nodes whose lease this worker holds, and only those.
        self.sessions: dict[str, SyncSession] = {}
        # Node → until when (s, this worker's clock) its lease holds unrenewed.
        self._held: dict[str, float] = {}
        # Node → when this worker took its lease; dropped once the lease is no longer young.
        self._young: dict[str, float] = {}
        self._seen: dict[str, deque[int]] = {}  # payload hashes of young leases
        # Owned nodes whose own subscription the broker granted; SUBSCRIBE mid → node.
        self._granted: set[str] = set()
        self._subscribing: dict[int, str] = {}
        # Leases of other workers as last read (to pass a message on without a query).
        self._others: dict[str, Lease] = {}
        self._taken_at: dict[str, float] = {}
        # Renewals by the lease keeper's thread, for the pump to apply: (begun at, kept).
        self._renewals: queue.SimpleQueue[tuple[float, dict[str, int]]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._renew_leases, name="hub-leases", daemon=True)
        # Nodes whose presence says online but that have not spoken yet, and since when.
        self._unheard: dict[str, float] = {}
        self._retired = SessionStats()  # what sessions ended since start had done
        self.forwarded = 0
        self.taken = 0  # leases taken since start
        # The workers alive (their retained presence says so), this one included: a
        # node nobody serves goes to the one of them serving the fewest.
        self._live: set[str] = {worker_id}
        self._dead: set[str] = set()
        # A clean session: a worker that dies leaves no subscription behind at the
        # broker for messages to queue on; everything it served is leased anew.
        self.link = MqttLink(
            f"sf-{tenant}-hub-{worker_id}",
            broker,
            clean_session=True,
            will=Will(worker_status(tenant, worker_id), b"offline"),
        )
        self._pump = LinkPump(self.link, name="hub-ingest", handle=self._handle, tick=self._tick)

    def start(self) -> None:
        # Leases under this worker id left by an earlier run of it: their sessions are gone.
        self.leases.release()
        self._pump.start()
        self._keeper.start()

    def stop(self) -> None:
        self._stopping.set()
        self._pump.stop()
        if self._keeper.is_alive():
            self._keeper.join(timeout=5)
        if self.link.is_connected:
            self.link.publish(worker_status(self.tenant, self.worker_id), b"offline", retain=True)
        for node in list(self._held):
            self._lose(node)
        self.leases.release()  # others take over at the nodes' next messages
        self.link.stop()

    def notify(self) -> None:
        """The hub wrote ops of its own (catalog…): relay them now, from every worker."""
        self.link.wake("local")

    @property
    def connected(self) -> bool:
        return self.link.is_connected

    def held(self) -> list[str]:
        """The nodes whose sessions this worker runs."""
        return sorted(self._held)

    def stats(self) -> dict[str, int]:
        """What this worker has done since it started (each worker counts its own)."""
        total = {f.name: getattr(self._retired, f.name) for f in fields(SessionStats)}
        for session in list(self.sessions.values()):
            for name in total:
                total[name] += getattr(session.stats, name)
        keys = ("ops_received", "ops_applied", "duplicates", "rejected", "pages_sent")
        return {
            "sessions": len(self.sessions),
            **{k: total[k] for k in keys},
            "leases": len(self._held),
            "forwarded": self.forwarded,
            "taken": self.taken,
        }

    # --- the pump ----------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self._keep_leases(now)
        for node, since in list(self._unheard.items()):
            session = self.sessions.get(node)
            if session is not None and session.connected:
                del self._unheard[node]
            elif now - since >= GREET_AFTER:
                del self._unheard[node]
                self._greet(node, now)
        for node, session in list(self.sessions.items()):
            self._send(node, session.tick(now), now)

    def _handle(self, event: LinkEvent, now: float) -> None:
        if isinstance(event, Connected):
            self._subscribe_all()
        elif isinstance(event, Subscribed):
            node = self._subscribing.pop(event.mid, None)
            if node is not None and node in self._held and event.granted:
                self._granted.add(node)
        elif isinstance(event, Disconnected):
            self._unheard.clear()
            self._granted.clear()
            self._subscribing.clear()
            for session in self.sessions.values():
                session.disconnect()
        elif isinstance(event, Wake):
            if event.reason == "leases":
                self._keep_leases(now)  # a renewal came back: apply it
                return
            if event.reason == "local":
                self.link.publish(hub_wake(self.tenant), self.worker_id.encode())
            self._relay(now)
        elif isinstance(event, Received):
            self._received(event, now)

    def _received(self, event: Received, now: float) -> None:
        topic = event.topic
        if topic == hub_wake(self.tenant):
            if event.payload != self.worker_id.encode():
                self._relay(now)
            return
        worker = worker_of_status(topic)
        if worker is not None:
            if event.payload == b"online":
                self._live.add(worker)
                self._dead.discard(worker)
            elif worker != self.worker_id:
                # Its Last Will (or its goodbye): its nodes may be taken from it now,
                # not only once its leases run out.
                self._live.discard(worker)
                self._dead.add(worker)
                self._others = {n: le for n, le in self._others.items() if le.worker != worker}
            return
        passed_on = forwarded_node(topic)
        if passed_on is not None:
            self._arrived(passed_on, event.payload, now, route="passed_on")
            return
        sender = node_of(topic)
        if sender is None:
            return
        if topic.endswith("/status"):
            self._presence(sender, event.payload, now)
        elif topic.endswith("/up"):
            if not self.shared:
                route = "every"  # every worker gets every message
            elif OWN_ROUTE in event.subscriptions:
                route = "own"
            else:
                route = "shared"
            self._arrived(sender, event.payload, now, route=route)

    def _subscribe_all(self) -> None:
        self._granted.clear()
        self._subscribing.clear()
        self.link.subscribe(all_up(self.tenant, shared=self.shared), subscription_id=SHARED_ROUTE)
        self.link.subscribe(
            all_status(self.tenant),
            worker_inbox(self.tenant, self.worker_id),
            hub_wake(self.tenant),
            all_worker_status(self.tenant),
        )
        self.link.publish(worker_status(self.tenant, self.worker_id), b"online", retain=True)
        for node in self._held:
            self._subscribe_node(node)

    def _subscribe_node(self, node: str) -> None:
        if not self.shared:
            return  # all_up is subscribed plainly already
        mid = self.link.subscribe(NodeTopics(self.tenant, node).up, subscription_id=OWN_ROUTE)
        if mid is not None:
            self._subscribing[mid] = node

    def _relay(self, now: float) -> None:
        for name, session in list(self.sessions.items()):
            self._send(name, session.local_changes(now), now)

    # --- leases ------------------------------------------------------------------------

    def _arrived(self, node: str, payload: bytes, now: float, *, route: str) -> None:
        """A message on node `node`'s topic: serve it, pass it on to the worker that
        serves the node, or drop it because that worker has it already."""
        if node in self._held:
            if route == "shared" and node in self._granted:
                return  # the same message came (or comes) on our own subscription
            if not self._still_held(node, now) or self._repeated(node, payload, now):
                return
            self._from_node(node, payload, now)
            return
        if route == "own":
            return  # a subscription of a node no longer ours, being undone
        if node not in self.store.keyring() and node not in self.store.keyring(fresh=True):
            self._reject(node, f"node {node!r} is not enrolled", payload, now, kind="not_enrolled")
            return
        lease = self._lease(node, now, fresh=route == "passed_on")
        if lease.worker == self.worker_id:
            self._own(node, lease, now)
            self._repeated(node, payload, now)
            self._from_node(node, payload, now)
        elif route == "shared" and now * 1000 - lease.taken_ms < YOUNG_FOR * 1000:
            # Just taken (maybe by us, for the worker serving the fewest): its holder
            # may not receive the node's topic itself yet.
            self.forwarded += 1
            self.link.publish(forwarded_up(self.tenant, lease.worker, node), payload)
        # Otherwise its holder has this message on its own subscription; one passed on
        # to us is not passed on again (no loops): the node resends what was lost.

    def _lease(self, node: str, now: float, *, fresh: bool = False) -> Lease:
        """The node's lease: another worker's as last read while it holds, else as it
        stands now, given to the live worker serving the fewest nodes if it was free
        or expired."""
        cached = self._others.get(node)
        if cached is not None and not fresh and cached.valid(_ms(now)):
            return cached
        lease = self.leases.assign(node, self._live, _ms(now), dead=self._dead)
        if lease.worker == self.worker_id:
            self._others.pop(node, None)
        else:
            self._others[node] = lease
        return lease

    def _own(self, node: str, lease: Lease, now: float) -> None:
        log.info("worker %s serves node %s from now on", self.worker_id, node)
        self.taken += 1
        self._held[node] = lease.expires_ms / 1000
        self._young[node] = now
        self._taken_at[node] = time.time()
        self._seen[node] = deque(maxlen=REMEMBERED_PAYLOADS)
        self._subscribe_node(node)

    def _lose(self, node: str) -> None:
        """End this worker's session with `node` (its lease is gone or given up)."""
        self._held.pop(node, None)
        self._young.pop(node, None)
        self._taken_at.pop(node, None)
        self._seen.pop(node, None)
        self._granted.discard(node)
        self._unheard.pop(node, None)
        session = self.sessions.pop(node, None)
        if session is not None:
            session.disconnect()  # saves what the node holds, for the next holder
            for f in fields(SessionStats):
                setattr(
                    self._retired,
                    f.name,
                    getattr(self._retired, f.name) + getattr(session.stats, f.name),
                )
        if self.shared:
            self.link.unsubscribe(NodeTopics(self.tenant, node).up)

    def _keep_leases(self, now: float) -> None:
        for node, since in list(self._young.items()):
            if now - since >= YOUNG_FOR:
                del self._young[node]
                self._seen.pop(node, None)
        if not self.link.is_connected:
            # Unreachable by our nodes: let the leases run out so others serve them.
            for node, until in list(self._held.items()):
                if now >= until - SEND_MARGIN:
                    self._lose(node)
            return
        while True:
            try:
                started, kept = self._renewals.get_nowait()
            except queue.Empty:
                break
            self._kept(started, kept)

    def _renew_leases(self) -> None:
        """The lease keeper's thread: renew every second, whatever the pump is busy
        with. A worker applying a big backlog on a starved CPU may not tick for
        seconds; its leases must not run out meanwhile, or its nodes flap between
        workers and pages are sent twice."""
        while not self._stopping.wait(RENEW_EVERY):
            if not self._held or not self.link.is_connected:
                continue
            started = time.time()
            try:
                kept = self.leases.renew(_ms(started))
            except Exception:  # the database away a moment: the next second tries again
                log.exception("worker %s could not renew its leases", self.worker_id)
                continue
            self._renewals.put((started, kept))
            self.link.wake("leases")

    def _renew(self, now: float) -> None:
        self._kept(now, self.leases.renew(_ms(now)))

    def _kept(self, started: float, kept: dict[str, int]) -> None:
        """What a renewal begun at `started` found: the leases this worker still holds."""
        for node in list(self._held):
            if node in kept:
                self._held[node] = max(self._held[node], kept[node] / 1000)
            elif self._taken_at.get(node, 0.0) < started:
                log.warning(
                    "worker %s lost node %s's lease to another worker", self.worker_id, node
                )
                self._lose(node)
        for node, expires_ms in kept.items():
            if node not in self._held:
                # Given to this worker by another (the one serving fewest), which passed
                # on the node's message that we have not read yet: serve it from now on.
                lease = Lease(node, self.worker_id, expires_ms, _ms(started))
                self._own(node, lease, started)

    def _still_held(self, node: str, now: float) -> bool:
        """Whether this worker may still act for `node`: its lease holds, renewed now
        if it is about to run out."""
        if now < self._held[node] - SEND_MARGIN:
            return True
        if self.link.is_connected:
            self._renew(now)
        return node in self._held and now < self._held[node] - SEND_MARGIN

    def _repeated(self, node: str, payload: bytes, now: float) -> bool:
        """While a lease is young, whether `payload` already came (passed on by another
        worker and on our own subscription); remembers it."""
        seen = self._seen.get(node)
        if seen is None:
            return False
        digest = hash(payload)
        if digest in seen:
            return True
        seen.append(digest)
        return False

    def _greet(self, node: str, now: float) -> None:
        """A node online but silent: say hello if we serve it, or may take it."""
        if node not in self._held:
            lease = self.leases.take(node, _ms(now))
            if lease.worker != self.worker_id:
                return  # its holder greets it
            self._own(node, lease, now)
        session = self._session(node)
        if session is not None and not session.connected:
            self._send(node, session.connect(now), now)

    # --- messages ----------------------------------------------------------------------

    def _session(self, node: str) -> SyncSession | None:
        session = self.sessions.get(node)
        if session is None:
            if node not in self.store.keyring():
                return None
            session = SyncSession(
                self.store,
                node,
                offer={HUB, node},
                accept=only_from_origin(node),
                config=self.config,
            )
            self.sessions[node] = session
        return session

    def _from_node(self, node: str, payload: bytes, now: float) -> None:
        try:
            msg = decode(payload)
        except MalformedMessage as exc:
            self._reject(node, f"malformed message: {exc}", payload, now)
            return
        if msg.sender != node:
            self._reject(
                node,
                f"message signed off as {msg.sender!r} on node {node!r}'s topic",
                payload,
                now,
                kind="wrong_sender",
            )
            return
        session = self._session(node)
        if session is None:
            self._reject(node, f"node {node!r} is not enrolled", payload, now, kind="not_enrolled")
            return
        out: list[Message] = []
        if not session.connected:
            if not session.authentic(msg):
                # Not the node's own word (forged, replayed): `receive` refuses it with
                # an incident, and the session it would have reset goes on as it was.
                self._send(node, session.receive(msg, now), now)
                return
            # First word from this node since this worker serves it (or since its Last
            # Will). A hello from it is answered by our ack; anything else gets a hello
            # of ours, since it may have missed our ops while we were apart. (A hello
            # answered with a hello would make it resend the page it has in flight.)
            out = session.connect(now)
            if isinstance(msg, Hello):
                out = []
        self._send(node, [*out, *session.receive(msg, now)], now)

    def _presence(self, node: str, payload: bytes, now: float) -> None:
        if not payload:
            return  # a retained status cleared
        keys = self.store.keyring()
        if node not in keys:
            return
        try:
            state = read_presence(payload, node, keys)
        except (MalformedMessage, SignatureRejected) as exc:
            self._reject(node, f"presence refused: {exc}", payload, now, kind="bad_presence")
            return
        if node in self._held or node not in self._others:
            # Every worker hears every presence; the one serving the node (or any,
            # while none is known to) notes it.
            self.store.save_peer(node, connected=state == "online", seen_ms=_ms(now))
        session = self.sessions.get(node)
        if state == "offline":
            self._unheard.pop(node, None)
            if node in self._held:
                # Gone: give its lease up, so that whichever worker hears it first
                # when it is back serves it.
                self._lose(node)
                self.leases.release([node])
        elif session is None or not session.connected:
            self._unheard.setdefault(node, now)

    def _reject(
        self, node: str, reason: str, payload: bytes, now: float, *, kind: str = "malformed"
    ) -> None:
        log.warning("hub ingest rejected a message on node %s's topic: %s", node, reason)
        self.store.record_incident(
            disposition="rejected",
            kind=kind,
            reason=reason,
            peer=node,
            payload=payload[:500].hex(),
            at_ms=_ms(now),
        )

    def _send(self, node: str, messages: list[Message], now: float) -> None:
        if not messages:
            return
        if node not in self._held or not self._still_held(node, now):
            return  # another worker serves it now
        if node in self._young:
            # A gap now is most likely a page another worker is passing on to us; if
            # not, the node resends its oldest page and the heartbeat asks again.
            messages = [m for m in messages if not isinstance(m, Need)]
        topics = NodeTopics(self.tenant, node)
        for msg in messages:
            self.link.publish(topics.ack if isinstance(msg, Ack) else topics.down, encode(msg))


def _ms(now: float) -> int:
    return int(now * 1000)
