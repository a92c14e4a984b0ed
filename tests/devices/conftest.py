"""Pty fixtures for the device tests: simulated scales and a bare pty pair."""

from __future__ import annotations

import contextlib
import os
import time
import tty
from collections.abc import Callable, Iterator
from typing import Literal

import pytest

from devices.scale.driver import ScaleDriver, ScaleOutput
from devices.simulators.scale_sim import ScaleSimulator

Collect = Callable[[ScaleDriver, int], list[ScaleOutput]]
Protocol = Literal["continuous", "toledo8217", "sics"]


@pytest.fixture
def scale_sim(tmp_path: os.PathLike[str]) -> Iterator[Callable[..., ScaleSimulator]]:
    """Factory: ``scale_sim("sics")`` starts a simulator; all are stopped at teardown."""
    started: list[ScaleSimulator] = []

    def make(protocol: Protocol, stream_interval: float | None = None) -> ScaleSimulator:
        sim = ScaleSimulator(protocol, link_dir=str(tmp_path), stream_interval=stream_interval)
        started.append(sim.start())
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def collect() -> Collect:
    """Read cycles until the driver has parsed ``readings`` valid readings in total.

    Waiting on the driver's own count (not on time) keeps the tests independent of
    machine speed; the 5 s bound only turns a hang into a failure.
    """

    def run(driver: ScaleDriver, readings: int) -> list[ScaleOutput]:
        out: list[ScaleOutput] = []
        deadline = time.monotonic() + 5
        while driver.readings < readings:
            assert time.monotonic() < deadline, f"only {driver.readings}/{readings} readings"
            out += driver.read()
        return out

    return run


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """(master fd, slave path) of a raw pty: the test writes on the master side."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):  # a test may have closed it already
                os.close(fd)
