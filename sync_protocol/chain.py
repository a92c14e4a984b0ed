"""The hash chain of an origin's ops: link n = sha256(link n-1 + signature of op n).

A replica stores the link at every op and at each head, so two replicas compare what
they hold of an origin up to a seq with one lookup each: equal links, equal histories
(a signature covers the whole op, and Ed25519 signatures are deterministic). The
anti-entropy heartbeat carries the sender's links; a different link at a seq both
hold is equivocation: two different ops under one (origin, seq).
"""

from __future__ import annotations

import hashlib

GENESIS = ""


def next_link(previous: str, sig_b64: str) -> str:
    # Revision 0002 computes the same formula for ops stored before chains existed;
    # changing it would need a revision that recomputes every chain.
    return hashlib.sha256(f"{previous}{sig_b64}".encode("ascii")).hexdigest()
