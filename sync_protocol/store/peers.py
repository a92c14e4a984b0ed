"""What each peer has told this replica it holds (its hellos and acks), and when."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sync_protocol.store import schema
from sync_protocol.store.base import StoreBase
from sync_protocol.store.dialect import insert_for
from sync_protocol.version_vector import VersionVector


@dataclass(frozen=True)
class PeerState:
    peer: str
    vv: VersionVector
    last_seen_ms: int | None
    last_ack_ms: int | None
    connected: bool


def _state(row: Any) -> PeerState:
    return PeerState(
        row.peer, json.loads(row.vv), row.last_seen_ms, row.last_ack_ms, bool(row.connected)
    )


class PeerBook(StoreBase):
    def peer_state(self, peer: str) -> PeerState:
        with self.read() as conn:
            row = conn.execute(select(schema.peers).where(schema.peers.c.peer == peer)).first()
        return PeerState(peer, {}, None, None, False) if row is None else _state(row)

    def all_peers(self) -> list[PeerState]:
        with self.read() as conn:
            rows = conn.execute(select(schema.peers).order_by(schema.peers.c.peer)).all()
        return [_state(r) for r in rows]

    def save_peer(
        self,
        peer: str,
        *,
        vv: Mapping[str, int] | None = None,
        seen_ms: int | None = None,
        ack_ms: int | None = None,
        connected: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if vv is not None:
            values["vv"] = json.dumps(dict(sorted(vv.items())))
        if seen_ms is not None:
            values["last_seen_ms"] = seen_ms
        if ack_ms is not None:
            values["last_ack_ms"] = ack_ms
        if connected is not None:
            values["connected"] = connected
        if not values:
            return
        stmt = insert_for(self.dialect, schema.peers)
        stmt = stmt.on_conflict_do_update(index_elements=["peer"], set_=values)
        with self._begin() as conn:
            conn.execute(stmt, {"peer": peer, "vv": "{}", "connected": False, **values})
