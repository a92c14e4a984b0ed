"""A node's first word to a hub worker (re)connects its session — but only once the
word is known to be the node's: a forged one must not reset the session (new nonce,
what was in flight forgotten). The ingest is driven with the link events its pump
hands it; it is not started, so nothing goes to a broker."""

from __future__ import annotations

import secrets
from pathlib import Path

from cloud.ingest import HubIngest
from cloud.schema import HUB_REGISTRY
from sync_protocol.messages import Hello, encode, seal
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import NodeTopics
from sync_protocol.transport.mqtt import BrokerAddress, Disconnected, Received

NODE = "store-1"


def sealed_hello(key: NodeKey, counter: int) -> bytes:
    nonce = "a1" * 8
    return encode(seal(Hello(NODE, {}), key, session=nonce, counter=counter, re=None))


def test_a_forged_first_word_leaves_the_nodes_session_as_it_was(tmp_path: Path) -> None:
    hub = ReplicaStore(
        f"sqlite:///{tmp_path}/hub.db",
        origin="cloud",
        key=NodeKey.generate(),
        registry=HUB_REGISTRY,
    )
    node_key = NodeKey.generate()
    hub.enroll(NODE, node_key.public_b64, label=NODE)
    ingest = HubIngest(hub, f"t{secrets.token_hex(3)}", BrokerAddress(port=1))
    up = NodeTopics(ingest.tenant, NODE).up
    try:
        ingest._handle(Received(up, sealed_hello(node_key, 1)), 100.0)
        session = ingest.sessions[NODE]
        assert session.connected
        ingest._handle(Disconnected("broker restarted"), 100.1)  # the hub's link went down
        nonce = session.nonce

        forged = sealed_hello(NodeKey.generate(), 2)  # not the node's key
        ingest._handle(Received(up, forged), 100.2)

        assert not session.connected
        assert session.nonce == nonce
        assert [i["kind"] for i in hub.incidents()] == ["bad_seal"]

        ingest._handle(Received(up, sealed_hello(node_key, 3)), 100.3)  # the node itself
        assert session.connected and session.nonce != nonce
    finally:
        hub.close()
