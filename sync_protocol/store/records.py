"""The replica's own notes: the incident log (everything refused or flagged, with the
reason) and small meta values.

Incidents of one kind from one source (peer and origin) within a day are one row that
counts them, first (`at_ms`) and latest (`last_ms`), keeping the first reason and
payload as the evidence: a peer sending garbage in a loop costs an UPDATE, not a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select, update

from sync_protocol.hlc import system_ms
from sync_protocol.store import schema
from sync_protocol.store.base import StoreBase
from sync_protocol.store.dialect import insert_for

AGGREGATE_WITHIN_MS = 24 * 3600 * 1000


class Records(StoreBase):
    def record_incident(
        self,
        *,
        disposition: str,
        reason: str,
        kind: str | None = None,
        peer: str | None = None,
        origin: str | None = None,
        seq: int | None = None,
        payload: str | None = None,
        at_ms: int | None = None,
    ) -> None:
        """Note something refused or flagged. `kind` (default: the disposition) says
        which incidents are the same thing, to be counted in one row."""
        with self._begin() as conn:
            self._record_incident(
                conn,
                disposition=disposition,
                reason=reason,
                kind=kind,
                peer=peer,
                origin=origin,
                seq=seq,
                payload=payload,
                at_ms=at_ms,
            )

    def _record_incident(
        self,
        conn: Connection,
        *,
        disposition: str,
        reason: str,
        kind: str | None = None,
        peer: str | None = None,
        origin: str | None = None,
        seq: int | None = None,
        payload: str | None = None,
        at_ms: int | None = None,
    ) -> None:
        """`record_incident` in the caller's write transaction: the incident is stored
        with the change it records, or neither is."""
        at = at_ms if at_ms is not None else system_ms()
        key = (kind or disposition)[:64]
        si = schema.sync_incidents
        same = and_(
            si.c.kind == key,
            si.c.disposition == disposition,
            si.c.peer.is_(None) if peer is None else si.c.peer == peer,
            si.c.origin.is_(None) if origin is None else si.c.origin == origin,
            si.c.at_ms >= at - AGGREGATE_WITHIN_MS,
        )
        row = conn.execute(select(si.c.id).where(same).order_by(si.c.id.desc())).first()
        if row is not None:
            conn.execute(
                update(si).where(si.c.id == row.id).values(count=si.c.count + 1, last_ms=at)
            )
            return
        conn.execute(
            si.insert(),
            {
                "at_ms": at,
                "last_ms": at,
                "kind": key,
                "count": 1,
                "peer": peer,
                "origin": origin,
                "seq": seq,
                "disposition": disposition,
                "reason": reason[:2000],
                "payload": payload[:4000] if payload else None,
            },
        )

    def incidents(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest incidents first (by their latest occurrence)."""
        si = schema.sync_incidents
        with self.read() as conn:
            rows = conn.execute(
                select(si).order_by(si.c.last_ms.desc(), si.c.id.desc()).limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    def get_meta(self, key: str) -> str | None:
        with self.read() as conn:
            value = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == key)
            ).scalar()
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        stmt = insert_for(self.dialect, schema.meta)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self._begin() as conn:
            conn.execute(stmt, {"key": key, "value": value})
