"""End-to-end fixtures: a hub and nodes as real processes on a private broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster
from tests.support.broker import BrokerProcess


@pytest.fixture
def make_cluster(
    private_broker: BrokerProcess, hub_db_url: str, tmp_path: Path
) -> Iterator[Callable[[list[str]], Cluster]]:
    made: list[Cluster] = []

    def make(nodes: list[str]) -> Cluster:
        cluster = Cluster(tmp_path / f"cluster{len(made)}", private_broker, hub_db_url, nodes)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()
        print(cluster.logs())  # shown by pytest when the test failed
