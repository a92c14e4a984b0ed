"""The replica store: every op a replica has seen, its version vector, the buffer of
ops that arrived ahead of a gap, what each peer has acknowledged, and the projections
of the registered areas (`sync_protocol.registry`) folded from the ops. One
implementation on SQLAlchemy Core serves SQLite (edge, embedded hub) and PostgreSQL
(hub)."""

from sync_protocol.store.peers import PeerState
from sync_protocol.store.replica import ApplyResult, ReplicaStore, WriteTxn

__all__ = ["ApplyResult", "PeerState", "ReplicaStore", "WriteTxn"]
