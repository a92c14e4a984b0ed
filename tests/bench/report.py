"""Measuring and reporting benchmarks: rates, ratios against a baseline, one table each.

The project's rule (docs/benchmarks.md): speed is a RATIO of our code against a raw
baseline (bare SQLite, bare PostgreSQL, bare paho) run in the same process on the same
machine, never an absolute threshold. Each benchmark alternates rounds of ours and of
its baseline (:func:`interleave`) so that drift of the machine — a busy disk, a noisy
neighbour — hits both sides alike, and reports the median round of each.

    ours, raw = interleave(5, lambda: timed(sell, 300), lambda: timed(raw_commits, 300))
    results.add(Table("Edge recording", "raw sqlite3 …", [Row("record_sale", "sale", ours, raw)]))

A ratio is ``ours_rate / baseline_rate`` in the same unit: 1.0 means our path costs what
the raw floor costs; 0.25 means it reaches a quarter of the floor's rate.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Round = Callable[[], "Rate"]
"""One timed round of one side: does its own untimed set-up, returns what it timed."""

JSON_ENV = "SHOPFLOOR_BENCH_JSON"


@dataclass(frozen=True)
class Rate:
    """`count` units done in `seconds` of wall-clock time."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Sample:
    """The rounds of one side of a comparison."""

    rates: tuple[Rate, ...]

    @classmethod
    def of(cls, rates: Sequence[Rate]) -> Sample:
        if not rates:
            raise ValueError("a sample needs at least one round")
        return cls(tuple(rates))

    @property
    def median(self) -> float:
        return statistics.median(r.per_second for r in self.rates)

    def spread(self) -> str:
        values = [r.per_second for r in self.rates]
        return f"{_num(min(values))}–{_num(max(values))}"


def _num(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float) -> str:
    return f"{value:.3f}" if value >= 0.01 else f"{value:.2g}"


def timed(work: Callable[[int], object], n: int) -> Rate:
    """Time `work(n)`, which does `n` units."""
    start = time.perf_counter()
    work(n)
    return Rate(n, time.perf_counter() - start)


def interleave(rounds: int, *sides: Round) -> list[Sample]:
    """Run `rounds` rounds of every side, one side after the other within a round, and
    return one sample per side, in the order given."""
    if rounds < 1 or not sides:
        raise ValueError("interleave needs at least one round and one side")
    runs: list[list[Rate]] = [[] for _ in sides]
    for _ in range(rounds):
        for side, run in zip(sides, runs, strict=True):
            run.append(side())
    return [Sample.of(run) for run in runs]


@dataclass(frozen=True)
class Row:
    """One comparison: what ran, in which unit, ours against the baseline (if any).

    `ops_per_unit` turns the unit into ops (a one-line sale is 2 ops); None when the unit
    is not made of ops (a simulation seed)."""

    what: str
    unit: str
    ours: Sample
    baseline: Sample | None = None
    ops_per_unit: int | None = 1

    @property
    def added_ms(self) -> float | None:
        """What ours costs on top of the baseline per unit, in milliseconds. Where both
        sides pay the same fsync, this moves less than the ratio when the disk gets
        faster or slower."""
        if self.baseline is None:
            return None
        return 1000 * (1 / self.ours.median - 1 / self.baseline.median)

    @property
    def ops_per_second(self) -> float | None:
        return None if self.ops_per_unit is None else self.ours.median * self.ops_per_unit

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.ours.median / self.baseline.median

    def as_dict(self) -> dict[str, Any]:
        ops = self.ops_per_second
        return {
            "what": self.what.strip(),
            "unit": self.unit,
            "ours_per_s": round(self.ours.median, 1),
            "ours_ops_per_s": None if ops is None else round(ops, 1),
            "baseline_per_s": None if self.baseline is None else round(self.baseline.median, 1),
            "ratio": None if self.ratio is None else round(self.ratio, 5),
            "added_ms_per_unit": None if self.added_ms is None else round(self.added_ms, 3),
            "rounds": len(self.ours.rates),
        }


@dataclass
class Table:
    title: str
    baseline: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        header = ("measured", "unit", "ours /s", "ours ops/s", "baseline /s", "ratio")
        body = [
            (
                row.what,
                row.unit,
                _num(row.ours.median),
                "—" if row.ops_per_second is None else _num(row.ops_per_second),
                "—" if row.baseline is None else _num(row.baseline.median),
                "—" if row.ratio is None else _ratio(row.ratio),
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            padded = [
                c.ljust(w) if align == "<" else c.rjust(w)
                for c, w, align in zip(cells, widths, "<<>>>>", strict=True)
            ]
            return "  ".join(padded).rstrip()

        out = [
            "",
            f"== {self.title} ==",
            f"baseline: {self.baseline}",
            line(header),
            line(["-" * w for w in widths]),
            *(line(cells) for cells in body),
        ]
        for row in self.rows:
            spread = f"ours {row.ours.spread()}"
            if row.baseline is not None and row.added_ms is not None:
                spread += f", baseline {row.baseline.spread()}; "
                spread += f"ours adds {row.added_ms:.3f} ms per {row.unit}"
            rounds = len(row.ours.rates)
            out.append(
                f"  {row.what.strip()}: {rounds} round{'s' * (rounds != 1)}, {row.unit}/s {spread}"
            )
        out.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "baseline": self.baseline,
            "rows": [r.as_dict() for r in self.rows],
            "notes": self.notes,
        }


def machine() -> str:
    """What the figures were measured on, load average included: other jobs on the
    machine slow both sides of a ratio, but not always alike."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}, "
        f"load average {load}"
    )


@dataclass
class Results:
    """Every table of the session: printed again at the end, written as JSON on request
    (``SHOPFLOOR_BENCH_JSON=path make bench``)."""

    tables: list[Table] = field(default_factory=list)

    def add(self, table: Table) -> None:
        self.tables.append(table)
        print(table.render())

    def summary(self) -> str:
        lines = ["", f"== benchmark summary ({machine()}) =="]
        for table in self.tables:
            for row in table.rows:
                rate = f"{_num(row.ours.median)} {row.unit}/s"
                ratio = "" if row.ratio is None else f"  ratio {_ratio(row.ratio)}"
                lines.append(f"{table.title} / {row.what.strip()}: {rate}{ratio}")
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        doc = {"machine": machine(), "tables": [t.as_dict() for t in self.tables]}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
