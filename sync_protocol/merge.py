"""Generic merge rules, as pure functions over ops. Every replica folds the same set
of ops to the same state whatever order or how many times they arrive (tested by
property tests); the business areas build their folds and SQL projections from these.

- Ledgers: a grow-only set of facts folded by sum (`unique` first: each op counts once).
- Registers: last writer wins per field, by `(hlc, origin)` — the origin breaks ties
  so two replicas never disagree.
- Sets: add-wins observed-remove: a remove only removes the adds it saw, so a
  concurrent add survives.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync_protocol.ops import Op

Stamp = tuple[int, str]
"""An op's position in the total order of writes: (hlc, origin)."""


def stamp_of(op: Op) -> Stamp:
    return (op.hlc, op.origin)


def unique(ops: Iterable[Op]) -> list[Op]:
    """One op per id: a replica stores each `(origin, seq)` once."""
    seen: dict[tuple[str, int], Op] = {}
    for op in ops:
        seen.setdefault(op.id, op)
    return list(seen.values())


# --- registers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterValue:
    value: Any
    stamp: Stamp


def lww_assign(
    current: Mapping[str, RegisterValue], fields: Mapping[str, Any], stamp: Stamp
) -> dict[str, RegisterValue]:
    """Apply one write of several fields; each field keeps the greater stamp."""
    out = dict(current)
    for name, value in fields.items():
        existing = out.get(name)
        if existing is None or stamp > existing.stamp:
            out[name] = RegisterValue(value, stamp)
    return out


# --- add-wins observed-remove sets -----------------------------------------------------


@dataclass
class AddWinsSet:
    """State of one OR-set: each element's live add-tags, and every tag removed.

    A tag is the op id of the add. `remove` carries the tags the remover observed,
    so an add it did not see (concurrent) stays.
    """

    adds: dict[Hashable, set[Hashable]] = field(default_factory=dict)
    # (element, tag): a remove names the element, so a tag it lists can only ever
    # cancel that element's add, whatever order the two arrive in.
    removed: set[tuple[Hashable, Hashable]] = field(default_factory=set)

    def add(self, element: Hashable, tag: Hashable) -> None:
        if (element, tag) not in self.removed:
            self.adds.setdefault(element, set()).add(tag)

    def remove(self, element: Hashable, observed_tags: Iterable[Hashable]) -> None:
        tags = set(observed_tags)
        self.removed |= {(element, tag) for tag in tags}
        live = self.adds.get(element)
        if live is not None:
            live -= tags
            if not live:
                del self.adds[element]

    def observed(self, element: Hashable) -> frozenset[Hashable]:
        return frozenset(self.adds.get(element, ()))

    @property
    def elements(self) -> frozenset[Hashable]:
        return frozenset(self.adds)


def fold_set(ops: Iterable[Op], add_kind: str, remove_kind: str, key: str) -> AddWinsSet:
    """Fold add/remove ops of one set. An add's tag is its op id; a remove's body lists
    the tags it observed as `[[origin, seq], ...]`."""
    state = AddWinsSet()
    for op in unique(ops):
        if op.kind == add_kind:
            state.add(op.body[key], op.id)
        elif op.kind == remove_kind:
            state.remove(op.body[key], (tuple(t) for t in op.body["observed"]))
    return state
