import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.registry import REGISTRY
from sync_protocol.errors import InvalidOp, MalformedMessage, SignatureRejected
from sync_protocol.messages import Ack, Control, Hello, Need, OpsPage, decode, encode, seal
from sync_protocol.ops import Op, canonical_json
from sync_protocol.signing import KeyRing, NodeKey


def sale_op(key: NodeKey, seq: int = 1, **body_changes: object) -> Op:
    body = {
        "sku": "6901234567890",
        "location": "store-1",
        "qty": -2,
        "reason": "sale",
        **body_changes,
    }
    return key.sign(Op("store-1", seq, 10_000 + seq, "stock.moved", 1, "收银员01", body))


def test_canonical_json_is_independent_of_key_order_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": "可乐"}) == canonical_json({"a": "可乐", "b": 1})
    assert canonical_json({"a": "可乐"}) == '{"a":"可乐"}'.encode()


def test_a_signed_op_verifies_with_its_origins_key() -> None:
    key = NodeKey.generate()
    KeyRing({"store-1": key.public_b64}).verify(sale_op(key))


def test_an_op_signed_with_another_key_is_rejected() -> None:
    ring = KeyRing({"store-1": NodeKey.generate().public_b64})
    with pytest.raises(SignatureRejected):
        ring.verify(sale_op(NodeKey.generate()))


def test_changing_the_body_after_signing_breaks_the_signature() -> None:
    key = NodeKey.generate()
    op = sale_op(key)
    tampered = Op(
        op.origin, op.seq, op.hlc, op.kind, op.v, op.actor, {**op.body, "qty": -1}, op.sig
    )
    with pytest.raises(SignatureRejected):
        KeyRing({"store-1": key.public_b64}).verify(tampered)


def test_an_op_of_an_unenrolled_origin_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="no enrolled key"):
        KeyRing().verify(sale_op(NodeKey.generate()))


def test_op_survives_the_wire_unchanged() -> None:
    op = sale_op(NodeKey.generate())
    assert Op.from_wire(json.loads(canonical_json(op.to_wire()))) == op


def test_a_known_kind_with_an_invalid_body_is_refused_by_the_registry() -> None:
    wire = sale_op(NodeKey.generate()).to_wire()
    wire["body"]["qty"] = "lots"
    op = Op.from_wire(wire)  # the envelope is fine; the body is the area's business
    assert REGISTRY.problem(op) is not None
    with pytest.raises(InvalidOp):
        REGISTRY.validate(op.kind, op.v, op.body)


def test_unknown_fields_of_a_body_are_kept_for_newer_versions() -> None:
    op = sale_op(NodeKey.generate(), note="新字段")
    assert Op.from_wire(op.to_wire()).body["note"] == "新字段"


def test_an_unknown_kind_is_kept_verbatim() -> None:
    key = NodeKey.generate()
    op = key.sign(Op("store-1", 1, 5, "points.earned", 3, "pos", {"member": "m1", "points": 5}))
    assert Op.from_wire(op.to_wire()) == op


@pytest.mark.parametrize(
    "msg",
    [
        Hello("store-1", {"store-1": 3, "cloud": 9}, {"store-1": "ab" * 32}),
        Ack("cloud", {"store-1": 3}),
        Need("cloud", {"store-1": (4, 10)}),
    ],
)
def test_sealed_control_messages_round_trip_and_verify(msg: Control) -> None:
    key = NodeKey.generate()
    sealed = seal(msg, key, session="c0ffee", counter=7, re="beef")
    received = decode(encode(sealed))
    assert received == sealed
    assert not isinstance(received, OpsPage) and received.seal is not None
    assert sealed.seal is not None and received.seal.signed == sealed.seal.signed
    KeyRing({msg.sender: key.public_b64}).verify_bytes(
        msg.sender, received.seal.signed, received.seal.sig
    )


def test_a_sealed_message_changed_on_the_way_does_not_verify() -> None:
    key = NodeKey.generate()
    sealed = encode(seal(Ack("cloud", {"store-1": 3}), key, session="s1", counter=1, re=None))
    tampered = decode(sealed.replace(b'"store-1":3', b'"store-1":9'))
    assert isinstance(tampered, Ack) and tampered.seal is not None
    with pytest.raises(SignatureRejected):
        KeyRing({"cloud": key.public_b64}).verify_bytes(
            "cloud", tampered.seal.signed, tampered.seal.sig
        )


def test_a_peer_speaking_the_first_protocol_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="protocol version 1"):
        decode(b'J{"from":"cloud","p":1,"t":"hello","vv":{}}')


def test_a_large_page_is_compressed_and_round_trips() -> None:
    key = NodeKey.generate()
    page = OpsPage("store-1", [sale_op(key, seq) for seq in range(1, 200)], more=True)
    data = encode(page)
    assert data[:1] == b"Z"
    assert decode(data) == page


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "empty"),
        (b"Xjunk", "unknown payload tag"),
        (b"Z\x00\x01\x02", "bad zlib"),
        (b"J{not json", "not JSON"),
        (b'J{"t":"hello","vv":{},"from":"a","p":99}', "protocol version"),
        (b'J{"t":"hello","vv":{"a":-1},"from":"a","p":2}', "not a seq"),
        (b'J{"t":"dance","from":"a","p":2}', "unknown message type"),
        (b'J["a"]', "not an object"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, why: str) -> None:
    with pytest.raises(MalformedMessage, match=why):
        decode(payload)


def test_a_payload_that_inflates_past_the_limit_is_refused() -> None:
    bomb = b"Z" + zlib.compress(b'{"t":"ops","ops":[' + b" " * (5 * 1024 * 1024) + b"]}")
    with pytest.raises(MalformedMessage, match="size limit"):
        decode(bomb)


def test_one_invalid_op_in_a_page_does_not_lose_the_others() -> None:
    key = NodeKey.generate()
    good = sale_op(key, 1)
    bad = sale_op(key, 2).to_wire()
    del bad["hlc"]  # a broken envelope; bodies are checked by the registry at ingest
    raw = {"t": "ops", "p": 2, "from": "store-1", "ops": [good.to_wire(), bad], "more": False}
    page = decode(b"J" + canonical_json(raw))
    assert isinstance(page, OpsPage)
    assert page.ops == [good]
    assert len(page.invalid) == 1 and "hlc" in page.invalid[0][1]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    body=st.dictionaries(st.sampled_from(["f", "body", "x", "名称", ',"f":']), _JSON, max_size=5),
    actor=st.text(max_size=20),
    kind=st.text(min_size=1, max_size=20),
)
@settings(max_examples=300, deadline=None)
def test_the_body_cut_from_the_envelope_is_the_bodys_own_canonical_json(
    body: dict[str, object], actor: str, kind: str
) -> None:
    # Keys and strings that look like the envelope's own (`"f"`, `,"f":`) included.
    op = Op(origin="store-1", seq=3, hlc=9, kind=kind, v=1, actor=actor, body=body)
    assert op.body_json() == canonical_json(body)
