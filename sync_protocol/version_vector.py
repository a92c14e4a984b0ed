"""Version vectors: for each origin, the highest seq held with no gap below it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

VersionVector = dict[str, int]


def merge(a: Mapping[str, int], b: Mapping[str, int]) -> VersionVector:
    """Pointwise maximum: what either side is known to hold."""
    out = dict(a)
    for origin, seq in b.items():
        if seq > out.get(origin, 0):
            out[origin] = seq
    return out


def dominates(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """True when `a` holds everything `b` holds."""
    return all(a.get(origin, 0) >= seq for origin, seq in b.items())


def missing(have: Mapping[str, int], want: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Per origin, the inclusive seq range in `want` that `have` lacks."""
    return {
        origin: (have.get(origin, 0) + 1, seq)
        for origin, seq in want.items()
        if seq > have.get(origin, 0)
    }


def restrict(vv: Mapping[str, int], origins: Iterable[str] | None) -> VersionVector:
    if origins is None:
        return dict(vv)
    keep = set(origins)
    return {o: s for o, s in vv.items() if o in keep}


def total(vv: Mapping[str, int]) -> int:
    return sum(vv.values())
