"""The replica's own notes: the incident log (everything refused or flagged, with the
reason) and small meta values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sync_protocol.hlc import system_ms
from sync_protocol.store import schema
from sync_protocol.store.base import StoreBase
from sync_protocol.store.dialect import insert_for


class Records(StoreBase):
    def record_incident(
        self,
        *,
        disposition: str,
        reason: str,
        peer: str | None = None,
        origin: str | None = None,
        seq: int | None = None,
        payload: str | None = None,
        at_ms: int | None = None,
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                schema.sync_incidents.insert(),
                {
                    "at_ms": at_ms if at_ms is not None else system_ms(),
                    "peer": peer,
                    "origin": origin,
                    "seq": seq,
                    "disposition": disposition,
                    "reason": reason[:2000],
                    "payload": payload[:4000] if payload else None,
                },
            )

    def incidents(self, limit: int = 100) -> list[dict[str, Any]]:
        si = schema.sync_incidents
        with self.read() as conn:
            rows = conn.execute(select(si).order_by(si.c.id.desc()).limit(limit))
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
