"""The registry interface: how business areas plug into the op store.

This library knows no business. An *area* (declared outside it) names the op kinds it
owns with their body schemas, the projection tables it folds them into, where its
Alembic migrations live, and how to fold a batch of its ops inside the store's
transaction. The store validates every op it writes or takes in against the area that
owns its kind, and calls each area's `apply` with that area's ops, in the same
transaction as the ops themselves (the transactional outbox). An op of a kind no area
owns is still stored and relayed: it folds into nothing here, and a newer release that
knows it will fold it when it rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection, MetaData, Table

from sync_protocol.errors import ConfigurationError, InvalidOp
from sync_protocol.ops import Op


class Body(BaseModel):
    """Base of every replicated body: frozen, and keeps fields it does not know, so an
    older replica stores and relays a newer replica's ops untouched. Fields are only
    ever added, never renamed or dropped."""

    model_config = ConfigDict(extra="allow", frozen=True)


@dataclass(frozen=True)
class Kind:
    """An op kind: its name (`area.fact`), the version this code writes, its body."""

    name: str
    version: int
    body: type[Body]


class Area(Protocol):
    """One business area as the op store sees it."""

    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> Sequence[Kind]: ...

    @property
    def tables(self) -> Sequence[Table]:
        """The projection tables: derived from ops, emptied before a rebuild."""
        ...

    @property
    def migrations(self) -> Path | None:
        """The folder of this area's Alembic revisions (its own branch), if any."""
        ...

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        """Fold ops of this area's kinds into its tables, inside the caller's
        transaction. Must give the same tables for any order and any duplication of
        the same ops (the store passes each op once, in seq order per origin)."""
        ...


class Registry:
    """The areas a store folds, and the one owner of each kind."""

    def __init__(self, areas: Iterable[Area] = ()) -> None:
        self.areas: tuple[Area, ...] = tuple(areas)
        self._kinds: dict[str, tuple[Kind, Area]] = {}
        tables: set[str] = set()
        for area in self.areas:
            for kind in area.kinds:
                if kind.name in self._kinds:
                    owner = self._kinds[kind.name][1].name
                    raise ConfigurationError(
                        f"op kind {kind.name!r} is declared by both {owner!r} and {area.name!r}"
                    )
                self._kinds[kind.name] = (kind, area)
            for table in area.tables:
                if table.name in tables:
                    raise ConfigurationError(f"table {table.name!r} is declared twice")
                tables.add(table.name)

    def kind(self, name: str) -> Kind | None:
        entry = self._kinds.get(name)
        return entry[0] if entry else None

    def area(self, name: str) -> Area:
        for area in self.areas:
            if area.name == name:
                return area
        raise KeyError(name)

    def version_of(self, kind: str) -> int:
        """The version this code writes a kind at (1 for a kind it does not know)."""
        entry = self._kinds.get(kind)
        return entry[0].version if entry else 1

    def validate(self, kind: str, v: int, body: dict[str, Any]) -> Body | None:
        """Check a body against its kind's schema. An unknown kind gives None (the op
        is kept verbatim); an invalid body of a known kind raises InvalidOp. A newer
        version is read with this code's schema: its extra fields are kept."""
        entry = self._kinds.get(kind)
        if entry is None:
            return None
        try:
            return entry[0].body.model_validate(body)
        except ValidationError as exc:
            raise InvalidOp(
                f"{kind} v{v} body invalid: {exc.errors(include_url=False)}",
                message_zh=f"操作 {kind} 的内容无效",
            ) from exc

    def problem(self, op: Op) -> str | None:
        """Why a received op cannot be folded, or None."""
        try:
            self.validate(op.kind, op.v, op.body)
        except InvalidOp as exc:
            return exc.message
        return None

    def project(self, conn: Connection, ops: Sequence[Op]) -> None:
        """Fold ops into every area that owns some of their kinds."""
        if not ops:
            return
        by_area: dict[str, list[Op]] = {}
        for op in ops:
            entry = self._kinds.get(op.kind)
            if entry is not None:
                by_area.setdefault(entry[1].name, []).append(op)
        for area in self.areas:
            mine = by_area.get(area.name)
            if mine:
                area.apply(conn, mine)

    def kinds_of(self, area: Area) -> frozenset[str]:
        return frozenset(k.name for k in area.kinds)

    def tables(self) -> list[Table]:
        return [table for area in self.areas for table in area.tables]

    def metadata(self) -> list[MetaData]:
        """The distinct MetaData collections the areas' tables belong to: the
        projections, and the tables an area keeps as the replica's own state (an area's
        optional `own_tables`: migrated with it, never rebuilt or carried by a snapshot)."""
        out: list[MetaData] = []
        own = [t for area in self.areas for t in getattr(area, "own_tables", ())]
        for table in [*self.tables(), *own]:
            if not any(m is table.metadata for m in out):
                out.append(table.metadata)
        return out

    def migration_locations(self) -> list[Path]:
        return [area.migrations for area in self.areas if area.migrations is not None]


EMPTY = Registry()
"""A store with no areas: it holds, verifies and relays ops and folds none."""
