"""The public keys allowed to author ops (the keyring), as stored by a replica.

The keyring is read once and shared by every session of the process (a hub has one
session per node: a thousand copies would cost a thousand reads and the memory);
`keyring(fresh=True)` reads it again, for a key enrolled or changed by another process.
"""

from __future__ import annotations

from sqlalchemy import select

from sync_protocol.hlc import system_ms
from sync_protocol.signing import KeyRing
from sync_protocol.store import schema
from sync_protocol.store.base import StoreBase
from sync_protocol.store.dialect import insert_for


class KeyBook(StoreBase):
    _key_cache: KeyRing | None = None

    def enroll(self, origin: str, public_b64: str, *, label: str | None = None) -> None:
        KeyRing({origin: public_b64})  # validates the key before storing it
        stmt = insert_for(self.dialect, schema.keyring)
        stmt = stmt.on_conflict_do_update(
            index_elements=["origin"], set_={"public_key": public_b64, "label": label}
        )
        with self._begin() as conn:
            conn.execute(
                stmt,
                {
                    "origin": origin,
                    "public_key": public_b64,
                    "label": label,
                    "enrolled_ms": system_ms(),
                },
            )
        self._key_cache = None

    def keyring(self, *, fresh: bool = False) -> KeyRing:
        if self._key_cache is None or fresh:
            with self.read() as conn:
                rows = conn.execute(select(schema.keyring.c.origin, schema.keyring.c.public_key))
                self._key_cache = KeyRing({r.origin: r.public_key for r in rows})
        return self._key_cache

    def enrolled(self) -> list[tuple[str, str | None]]:
        with self.read() as conn:
            rows = conn.execute(
                select(schema.keyring.c.origin, schema.keyring.c.label).order_by(
                    schema.keyring.c.origin
                )
            )
            return [(r.origin, r.label) for r in rows]
