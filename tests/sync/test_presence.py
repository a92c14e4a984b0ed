"""A node's presence is signed by the node: the hub believes only the node itself."""

from __future__ import annotations

import pytest

from sync_protocol.errors import MalformedMessage, SignatureRejected
from sync_protocol.presence import presence, read_presence
from sync_protocol.signing import KeyRing, NodeKey

KEY = NodeKey.generate()
KEYS = KeyRing({"store-1": KEY.public_b64})


def test_a_signed_presence_reads_as_its_state() -> None:
    assert read_presence(presence(KEY, "store-1", "online"), "store-1", KEYS) == "online"
    assert read_presence(presence(KEY, "store-1", "offline"), "store-1", KEYS) == "offline"


def test_an_unsigned_presence_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="unsigned"):
        read_presence(b'{"node":"store-1","state":"offline","at":1}', "store-1", KEYS)


def test_a_presence_signed_by_another_key_is_refused() -> None:
    with pytest.raises(SignatureRejected):
        read_presence(presence(NodeKey.generate(), "store-1", "online"), "store-1", KEYS)


def test_a_presence_of_another_node_on_this_nodes_topic_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="store-2"):
        read_presence(presence(KEY, "store-2", "online"), "store-1", KEYS)


@pytest.mark.parametrize("payload", [b"\xff", b"[1]", b'{"state":"asleep"}', b"x" * 2000])
def test_a_malformed_presence_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        read_presence(payload, "store-1", KEYS)
