"""Fixtures of the benchmarks (``make bench``; every test here is marked ``bench``).

- ``bench_results`` (session)  collects each benchmark's table (rates, and the memory
  tables of ``memory.py``); prints a summary at the end and writes JSON when
  ``SHOPFLOOR_BENCH_JSON`` names a file
- ``edge_history`` (session)   20,000 signed ops of one store, as ``record_sale`` writes them
- ``fresh_db``     (function)  parametrised SQLite / PostgreSQL: a new empty database per call
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_protocol.signing import NodeKey
from tests.bench.memory import memory_summary
from tests.bench.report import JSON_ENV, Results
from tests.bench.workload import STORE, EdgeHistory, FreshDatabases, sale_ops
from tests.support import postgres

HERE = Path(__file__).parent
HISTORY_OPS = 20_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A benchmark without the marker would run (slowly) under ``make test``: refuse it."""
    unmarked = [
        item.nodeid
        for item in items
        if item.path.is_relative_to(HERE) and item.get_closest_marker("bench") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests under tests/bench must be marked @pytest.mark.bench: " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def bench_results() -> Iterator[Results]:
    results = Results()
    yield results
    if results.tables:
        print(results.summary())
        if memory := memory_summary(results):
            print(memory)
        target = os.environ.get(JSON_ENV)
        if target:
            results.write_json(Path(target))


@pytest.fixture(scope="session")
def edge_history() -> EdgeHistory:
    key = NodeKey.generate()
    return EdgeHistory(STORE, key, sale_ops(key, STORE, HISTORY_OPS))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FreshDatabases]:
    if request.param == "postgresql":
        reason = postgres.unavailable_reason()
        if reason is not None:
            pytest.skip(reason)
    with contextlib.ExitStack() as stack:
        yield FreshDatabases(request.param, tmp_path, stack)
