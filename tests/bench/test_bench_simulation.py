"""Simulation throughput: seeds per second of ``domain.simulation.run``.

Each seed builds a hub and three nodes on SQLite files, writes 120 ops through a faulty
in-memory network (loss, duplication, reordering, a partition, reconnects) and the
seed's trouble (crashes, restores from old backups, clock jumps, a hub restart, an
attacker), runs until quiet and checks the invariants. No baseline: the figure says how
many seeds a CI minute buys.
"""

from __future__ import annotations

import time

import pytest

from domain.simulation import SimReport, run
from tests.bench.report import Rate, Results, Row, Sample, Table

SEEDS = range(20)


@pytest.mark.bench
def test_simulation_seeds_per_second(bench_results: Results) -> None:
    reports: list[SimReport] = []
    per_seed: list[Rate] = []
    for seed in SEEDS:
        start = time.perf_counter()
        reports.append(run(seed))
        per_seed.append(Rate(1, time.perf_counter() - start))

    broken = [r.seed for r in reports if not r.converged]
    assert not broken, broken
    wall = sum(r.seconds for r in per_seed)
    messages = sum(r.messages for r in reports)
    ops = sum(r.ops_written for r in reports)
    simulated = sum(r.finished_at for r in reports)
    bench_results.add(
        Table(
            f"Simulation: seeds {SEEDS.start}–{SEEDS.stop - 1} of simulation.run (3 nodes)",
            "none (an absolute figure)",
            [Row("simulation.run, one seed", "seed", Sample.of(per_seed), ops_per_unit=None)],
            [
                f"{len(SEEDS)} seeds in {wall:.1f} s wall: {len(SEEDS) / wall:.2f} seeds/s overall",
                f"{messages / wall:,.0f} messages/s, {ops / wall:,.0f} ops written/s, "
                f"{simulated / wall:,.1f} simulated seconds per wall second",
            ],
        )
    )
