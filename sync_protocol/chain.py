"""The hash chain of an origin's ops: link n = sha256(link n-1 + digest of op n), where
an op's digest covers all of it (what its signature covers, and the signature).

A replica stores the link at every op and at each head, so two replicas compare what
they hold of an origin up to a seq with one lookup each: equal links, equal histories.
The anti-entropy heartbeat carries the sender's links; a different link at a seq both
hold is equivocation: two different ops under one (origin, seq).

An origin can also vouch for a whole page of its ops with one signature over the link
at the page's last op (`proof_bytes`): the receiver chains the ops' digests from the
link before the page and verifies that one signature instead of one per op.
"""

from __future__ import annotations

import hashlib

from sync_protocol.ops import Op, canonical_json

GENESIS = ""


def op_digest(op: Op) -> str:
    return hashlib.sha256(op.signing_bytes() + op.sig).hexdigest()


def next_link(previous: str, digest: str) -> str:
    # Revision 0002 computes the same formula for ops stored before chains existed;
    # changing it would need a revision that recomputes every chain.
    return hashlib.sha256(f"{previous}{digest}".encode("ascii")).hexdigest()


def chain_of(previous: str, ops: list[Op]) -> str:
    """The link after `ops` (one origin's, in seq order) following `previous`."""
    for op in ops:
        previous = next_link(previous, op_digest(op))
    return previous


def proof_bytes(origin: str, seq: int, link: str) -> bytes:
    """What an origin signs to vouch for its history up to `seq`."""
    return canonical_json(["chain", origin, seq, link])
