"""The production session and store over a network that drops, duplicates, reorders
and partitions: every seed must converge. A failing seed replays with
`shopfloor sim --seed N`."""

from __future__ import annotations

import os

import pytest

from domain.simulation import run
from sync_protocol.transport.memory import Faults

SEEDS = int(os.environ.get("SHOPFLOOR_SIM_SEEDS", "100"))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_three_nodes_and_a_hub_converge_despite_faults(seed: int) -> None:
    report = run(seed)
    assert report.converged, (
        f"seed {seed} diverged (replay: shopfloor sim --seed {seed}): {report.problems}"
    )
    assert report.dropped > 0  # the network really was faulty


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1010))
def test_convergence_survives_a_very_lossy_network(seed: int) -> None:
    report = run(seed, writes=200, faults=Faults(drop=0.35, duplicate=0.2, max_delay=1.5))
    assert report.converged, f"seed {seed}: {report.problems}"
