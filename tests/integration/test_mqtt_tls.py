"""MQTT security at a REAL Mosquitto (DESIGN §7, docs/security.md): TLS with a client
certificate per node, the certificate's CN as the username, and an ACL that keeps each
node under its own topics.

One broker and one PKI for the module; each test uses its own tenant, so its topics are
its own. Nodes connect through the production adapter (`MqttLink`); the hub side is a
plain paho client that waits for its SUBACKs, so no test depends on a fixed sleep.
"""

from __future__ import annotations

import queue
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from shopfloor_cli.broker import BrokerProcess, TlsListener, find_mosquitto
from sync_protocol.errors import ConfigurationError
from sync_protocol.topics import NodeTopics, all_status, all_up
from sync_protocol.transport.mqtt import BrokerAddress, Connected, MqttLink, Received
from tests.support.pki import HUB_IDENTITY, CertificateAuthority

pytestmark = pytest.mark.skipif(
    find_mosquitto() is None, reason="TLS and ACLs are tested against Mosquitto only"
)

TIMEOUT = 5.0
E = TypeVar("E")

# The node listener's ACL (same rules as deploy/mosquitto/hub.acl). %u is the username,
# i.e. the CN of the client certificate; `+` is the tenant. Patterns apply to everyone,
# the `user hub` block to the hub only; everything else is denied.
ACL = """\
pattern write sf/+/node/%u/up
pattern write sf/+/node/%u/status
pattern read sf/+/node/%u/down
pattern read sf/+/node/%u/ack

user hub
topic read sf/+/node/+/up
topic read sf/+/node/+/status
topic write sf/+/node/+/down
topic write sf/+/node/+/ack
"""


@dataclass(frozen=True)
class Credentials:
    """Files a client connects with: the CA it trusts, its certificate and key."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class Pki:
    workdir: Path

    def ca_file(self) -> Path:
        return self.workdir / "ca.crt"

    def of(self, name: str) -> Credentials:
        return Credentials(
            self.ca_file(), self.workdir / f"{name}.crt", self.workdir / f"{name}.key"
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA; the broker's certificate; the hub's; nodes store-1 and store-2; and a node
    certificate `rogue` for store-1 from ANOTHER CA."""
    pki = Pki(tmp_path_factory.mktemp("pki"))
    ca = CertificateAuthority.create("Shopfloor test CA")
    pki.ca_file().write_bytes(ca.certificate_pem)
    ca.issue_server().save(pki.workdir / "broker.crt", pki.workdir / "broker.key")
    ca.issue_hub().save(pki.workdir / "hub.crt", pki.workdir / "hub.key")
    for node in ("store-1", "store-2"):
        ca.issue_node(node).save(pki.workdir / f"{node}.crt", pki.workdir / f"{node}.key")
    other = CertificateAuthority.create("Somebody else's CA")
    other.issue_node("store-1").save(pki.workdir / "rogue.crt", pki.workdir / "rogue.key")
    return pki


@pytest.fixture(scope="module")
def tls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    workdir = tmp_path_factory.mktemp("tls_broker")
    acl = workdir / "shopfloor.acl"
    acl.write_text(ACL, encoding="utf-8")
    tls = TlsListener(pki.ca_file(), pki.workdir / "broker.crt", pki.workdir / "broker.key")
    broker = BrokerProcess(workdir, kind="mosquitto", tls=tls, extra_config=[f"acl_file {acl}"])
    broker.start()
    yield broker
    broker.stop()
    print(broker.log_tail(60))  # shown by pytest when a test failed


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


# --- clients ----------------------------------------------------------------------------


def _paho_client(name: str, creds: Credentials) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,  # a refusal ends the loop instead of retrying
    )
    client.tls_set(
        ca_certs=str(creds.ca_file),
        certfile=str(creds.cert_file) if creds.cert_file else None,
        keyfile=str(creds.key_file) if creds.key_file else None,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )
    return client


class HubClient:
    """The hub's side, as a plain paho client: subscribe() returns after the SUBACK."""

    def __init__(self, client: paho.Client) -> None:
        self.client = client
        self.received: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        client.on_message = lambda _c, _u, msg: self.received.put(msg)
        client.on_subscribe = lambda _c, _u, _mid, codes, _p: self._subacks.put(codes)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        codes = self._subacks.get(timeout=TIMEOUT)
        assert not any(code.is_failure for code in codes), f"SUBACK {topic}: {codes}"

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published()

    def next_message(self) -> paho.MQTTMessage:
        return self.received.get(timeout=TIMEOUT)


@contextmanager
def hub_client(broker: BrokerProcess, pki: Pki) -> Iterator[HubClient]:
    client = _paho_client("hub", pki.of("hub"))
    outcome = _connect(client, broker)
    try:
        assert outcome == "connected", outcome
        yield HubClient(client)
    finally:
        client.disconnect()
        client.loop_stop()


def _connect(client: paho.Client, broker: BrokerProcess) -> str:
    """Connect and run the network loop; return the first outcome, without waiting out
    a timeout when the broker refuses: "connected", "refused: …", "dropped: …",
    "handshake failed: …" or "no answer"."""
    outcomes: queue.Queue[str] = queue.Queue()

    def on_connect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        outcomes.put(f"refused: {reason}" if reason.is_failure else "connected")

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        outcomes.put(f"dropped: {reason}")

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_connect_fail = lambda _c, _u: outcomes.put("dropped: connect failed")
    try:
        client.connect(broker.host, broker.port, keepalive=10)
    except (ssl.SSLError, OSError) as exc:  # TLS 1.2 fails here; 1.3 after the handshake
        return f"handshake failed: {exc}"
    client.loop_start()
    try:
        return outcomes.get(timeout=TIMEOUT)
    except queue.Empty:
        return "no answer"


def connection_outcome(broker: BrokerProcess, creds: Credentials) -> str:
    client = _paho_client("probe", creds)
    try:
        return _connect(client, broker)
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def node_link(broker: BrokerProcess, pki: Pki, node: str, tenant: str) -> Iterator[MqttLink]:
    """A node's production link over TLS with its certificate, once connected."""
    creds = pki.of(node)
    address = BrokerAddress(
        broker.host,
        broker.port,
        ca_file=str(creds.ca_file),
        cert_file=str(creds.cert_file),
        key_file=str(creds.key_file),
    )
    link = MqttLink(f"{tenant}-{node}", address)
    link.start()
    try:
        wait_for(link, Connected)
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


def wait_for_log(broker: BrokerProcess, text: str, *, more_than: int) -> None:
    """Until the broker's log holds ``text`` more than ``more_than`` times (the refusal
    happened for that reason, not another)."""
    deadline = time.monotonic() + TIMEOUT
    while broker.log_text().count(text) <= more_than:
        assert time.monotonic() < deadline, f"the broker never logged {text!r}"
        time.sleep(0.02)


# --- tests ------------------------------------------------------------------------------


def test_a_node_with_its_certificate_reaches_the_hub_over_tls(
    tls_broker: BrokerProcess, pki: Pki, tenant: str
) -> None:
    with hub_client(tls_broker, pki) as hub, node_link(tls_broker, pki, "store-1", tenant) as link:
        hub.subscribe(all_up(tenant, shared=True))

        assert link.publish(NodeTopics(tenant, "store-1").up, "收货 6901234567890 ×3".encode())

        message = hub.next_message()
    assert message.topic == NodeTopics(tenant, "store-1").up
    assert message.payload.decode() == "收货 6901234567890 ×3"


def test_a_client_without_a_certificate_is_refused(tls_broker: BrokerProcess, pki: Pki) -> None:
    reason = "peer did not return a certificate"
    seen = tls_broker.log_text().count(reason)

    outcome = connection_outcome(tls_broker, Credentials(pki.ca_file()))

    assert outcome.startswith(("handshake failed", "dropped")), outcome
    wait_for_log(tls_broker, reason, more_than=seen)


def test_a_certificate_from_another_ca_is_refused(tls_broker: BrokerProcess, pki: Pki) -> None:
    reason = "certificate verify failed"
    seen = tls_broker.log_text().count(reason)

    outcome = connection_outcome(tls_broker, pki.of("rogue"))

    assert outcome.startswith(("handshake failed", "dropped")), outcome
    wait_for_log(tls_broker, reason, more_than=seen)


def test_a_node_cannot_publish_on_another_nodes_topic(
    tls_broker: BrokerProcess, pki: Pki, tenant: str
) -> None:
    with hub_client(tls_broker, pki) as hub, node_link(tls_broker, pki, "store-1", tenant) as link:
        hub.subscribe(all_up(tenant, shared=False))
        hub.subscribe(all_status(tenant))

        link.publish(NodeTopics(tenant, "store-2").up, b"forged page")
        link.publish(NodeTopics(tenant, "store-2").status, b"offline")
        # The broker handles one client's packets in order: once this one is through,
        # the forged ones were either delivered before it or dropped.
        link.publish(NodeTopics(tenant, "store-1").up, b"barrier")

        first = hub.next_message()
    assert (first.topic, first.payload) == (NodeTopics(tenant, "store-1").up, b"barrier")


def test_a_node_cannot_claim_another_identity_with_a_username(
    tls_broker: BrokerProcess, pki: Pki, tenant: str
) -> None:
    creds = pki.of("store-1")
    address = BrokerAddress(
        tls_broker.host,
        tls_broker.port,
        username="store-2",  # the certificate's CN wins
        ca_file=str(creds.ca_file),
        cert_file=str(creds.cert_file),
        key_file=str(creds.key_file),
    )
    link = MqttLink(f"{tenant}-impostor", address)
    with hub_client(tls_broker, pki) as hub:
        hub.subscribe(all_up(tenant, shared=False))
        link.start()
        try:
            wait_for(link, Connected)
            link.publish(NodeTopics(tenant, "store-2").up, b"forged page")
            link.publish(NodeTopics(tenant, "store-1").up, b"barrier")

            first = hub.next_message()
        finally:
            link.stop()
    assert (first.topic, first.payload) == (NodeTopics(tenant, "store-1").up, b"barrier")


def test_the_hub_sends_to_a_nodes_down_topic_and_the_node_receives_it(
    tls_broker: BrokerProcess, pki: Pki, tenant: str
) -> None:
    topics = NodeTopics(tenant, "store-1")
    with hub_client(tls_broker, pki) as hub, node_link(tls_broker, pki, "store-1", tenant) as link:
        hub.subscribe(all_up(tenant, shared=True))
        link.subscribe(topics.down)
        # As in the protocol: the node says hello after subscribing, so once the hub has
        # the hello, the node's subscription is in place (one client's packets in order).
        link.publish(topics.up, b"hello")
        assert hub.next_message().payload == b"hello"

        hub.publish(topics.down, "价格更新 6901234567890 ¥12.50".encode())

        received = wait_for(link, Received)
    assert received.topic == topics.down
    assert received.payload.decode() == "价格更新 6901234567890 ¥12.50"


def test_no_node_certificate_can_carry_the_hubs_identity() -> None:
    # The ACL grants the username `hub` every node's topics; the CA never makes a node
    # certificate with that CN (nor `cloud`, the hub's op origin).
    ca = CertificateAuthority.create("Shopfloor test CA")
    for reserved in (HUB_IDENTITY, "cloud"):
        with pytest.raises(ConfigurationError, match="reserved"):
            ca.issue_node(reserved)
    assert ca.issue_hub().common_name == HUB_IDENTITY


def test_a_node_cannot_read_another_nodes_down_topic(
    tls_broker: BrokerProcess, pki: Pki, tenant: str
) -> None:
    mine, theirs = NodeTopics(tenant, "store-2"), NodeTopics(tenant, "store-1")
    with hub_client(tls_broker, pki) as hub, node_link(tls_broker, pki, "store-2", tenant) as link:
        hub.subscribe(all_up(tenant, shared=True))
        link.subscribe(theirs.down)
        link.subscribe(mine.down)
        link.publish(mine.up, b"hello")  # after the SUBSCRIBEs, so they are in place
        assert hub.next_message().payload == b"hello"

        hub.publish(theirs.down, b"store-1's page")
        hub.publish(mine.down, b"store-2's page")

        first = wait_for(link, Received)
    assert (first.topic, first.payload) == (mine.down, b"store-2's page")
