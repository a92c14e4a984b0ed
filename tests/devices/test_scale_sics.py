"""Mettler Toledo SICS scale over a real pty: polling, tare and zero."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devices.errors import CommandRejected, DeviceUnavailable
from devices.events import DeviceStatus, WeightEvent
from devices.scale.driver import ScaleDriver, ScaleOutput
from devices.simulators.scale_sim import ScaleSimulator

Sim = ScaleSimulator
MakeSim = Callable[..., ScaleSimulator]
Collect = Callable[[ScaleDriver, int], list[ScaleOutput]]


def weights(outputs: list[ScaleOutput]) -> list[WeightEvent]:
    return [o for o in outputs if isinstance(o, WeightEvent)]


def read(driver: ScaleDriver, cycles: int) -> list[ScaleOutput]:
    return [out for _ in range(cycles) for out in driver.read()]


@pytest.fixture
def sim(scale_sim: MakeSim) -> ScaleSimulator:
    return scale_sim("sics")


@pytest.fixture
def driver(sim: ScaleSimulator) -> Iterator[ScaleDriver]:
    with ScaleDriver(sim.scale_config(reply_timeout=0.2)) as driver:
        yield driver


def test_si_poll_returns_the_stable_weight(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    assert [(e.grams, e.stable) for e in weights(read(driver, 1))] == [(1234, True)]
    assert sim.received == [b"SI"]


def test_dynamic_weights_are_not_published(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(500, stable=False)
    assert weights(read(driver, 5)) == []


def test_stable_weight_is_published_once_per_settle(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    first = read(driver, 10)
    sim.set_unstable()
    moving = read(driver, 3)
    sim.set_unstable(False)
    settled = read(driver, 10)
    assert [[e.grams for e in weights(b)] for b in (first, moving, settled)] == [[1234], [], [1234]]


def test_negative_weight(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(-250)
    assert [e.grams for e in weights(read(driver, 1))] == [-250]


def test_overload_and_underload(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_overload()
    over = weights(read(driver, 2))
    sim.set_underload()
    under = weights(read(driver, 2))
    assert [(e.overload, e.underload) for e in over + under] == [(True, False), (False, True)]


def test_a_partial_frame_costs_one_poll_and_is_never_misread(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    sim.inject(b"\x00\xffS S     1.2")  # cut off; glues onto the next reply
    outputs = read(driver, 2)
    assert [e.grams for e in weights(outputs)] == [1234]
    assert driver.parser.discarded == 1


def test_tare_reports_grams_and_later_weights_are_net(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(100)  # an empty box
    assert driver.tare() == 100
    assert sim.tare_grams == 100
    sim.set_weight(1334)  # box plus goods
    [event] = weights(read(driver, 1))
    assert (event.grams, event.tare_grams) == (1234, 100)


def test_tare_while_moving_is_rejected(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(300, stable=False)
    with pytest.raises(CommandRejected, match="steady"):
        driver.tare()


def test_zero_within_range_zeroes_the_scale(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(12)
    driver.zero()
    assert [e.grams for e in weights(read(driver, 1))] == [0]
    assert sim.received == [b"Z", b"SI"]


def test_zero_outside_the_zero_range_is_rejected(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(5000)
    with pytest.raises(CommandRejected, match="above"):
        driver.zero()


def test_weights_read_while_waiting_for_a_command_are_kept(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(700)
    sim.inject(b"S S      0.700 kg\r\n")  # a reply that was still on the wire
    with pytest.raises(CommandRejected):
        driver.zero()  # 700 g is beyond the zero range
    sim.set_unstable()  # so the next poll cannot be what publishes 700 g
    assert [e.grams for e in weights(driver.read())] == [700]


def test_an_error_reply_puts_the_scale_in_error_until_the_next_weight(
    sim: Sim, driver: ScaleDriver
) -> None:
    sim.set_weight(10)
    sim.inject(b"EL\r\n")
    statuses = [o for o in read(driver, 2) if isinstance(o, DeviceStatus)]
    assert [(s.state, "SICS" in s.detail) for s in statuses] == [("error", True), ("online", False)]


def test_unplugged_scale_raises_device_unavailable(sim: Sim, driver: ScaleDriver) -> None:
    sim.unplug()
    with pytest.raises(DeviceUnavailable):
        driver.read()
