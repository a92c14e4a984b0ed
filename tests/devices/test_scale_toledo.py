"""Toledo 8217 polled scale over a real pty."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devices.errors import DeviceUnavailable
from devices.events import DeviceStatus, WeightEvent
from devices.scale.driver import ScaleConfig, ScaleDriver, ScaleOutput
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
    return scale_sim("toledo8217")


@pytest.fixture
def driver(sim: ScaleSimulator) -> Iterator[ScaleDriver]:
    with ScaleDriver(sim.scale_config()) as driver:
        yield driver


def test_the_driver_polls_with_w_and_reads_the_weight(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    assert [(e.grams, e.stable) for e in weights(read(driver, 1))] == [(1234, True)]
    assert sim.received == [b"W"]


def test_a_steady_weight_is_published_once_over_many_polls(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    assert [e.grams for e in weights(read(driver, 20))] == [1234]
    assert len(sim.received) == 20


def test_motion_status_publishes_nothing_until_settled(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(640, stable=False)
    assert weights(read(driver, 5)) == []
    sim.set_unstable(False)
    assert [e.grams for e in weights(read(driver, 5))] == [640]


def test_over_capacity_status_is_an_overload_event(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_overload()
    events = weights(read(driver, 3))
    assert [(e.overload, e.underload) for e in events] == [(True, False)]


def test_a_negative_weight_is_reported_as_under_capacity(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(-20)
    assert [(e.overload, e.underload) for e in weights(read(driver, 2))] == [(False, True)]


def test_noise_and_a_cut_frame_before_the_reply_are_skipped(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(1234)
    sim.inject(b"\xfe\x13\r\x0201.2")  # garbage, then a reply cut short
    assert [e.grams for e in weights(read(driver, 1))] == [1234]
    assert driver.parser.discarded == 1


def test_zero_error_puts_the_scale_in_error(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_zero_error()
    statuses = [o for o in read(driver, 2) if isinstance(o, DeviceStatus)]
    assert [s.state for s in statuses] == ["error"]
    assert "zero" in statuses[0].detail


def test_zero_and_tare_are_sent_and_show_in_the_next_weight(sim: Sim, driver: ScaleDriver) -> None:
    sim.set_weight(120)
    driver.zero()
    assert [e.grams for e in weights(read(driver, 1))] == [0]
    sim.set_weight(620)  # a box
    assert driver.tare() is None  # 8217 does not report the tare value
    read(driver, 1)  # no reply to T: this poll is what makes sure the scale took it
    sim.set_weight(870)  # the box and 250 g of goods
    assert [e.grams for e in weights(read(driver, 1))] == [250]
    assert sim.received == [b"Z", b"W", b"T", b"W", b"W"]


def test_a_scale_that_never_answers_is_reported_offline(pty_pair: tuple[int, str]) -> None:
    _, path = pty_pair  # a port with nothing behind it
    config = ScaleConfig(
        path, "toledo8217", bytesize=8, parity="N", reply_timeout=0.05, max_missed=3
    )
    with ScaleDriver(config) as driver:
        outputs = read(driver, 3)
    [status] = outputs
    assert isinstance(status, DeviceStatus)
    assert (status.state, status.detail) == ("offline", "no data from the scale")


def test_unplugged_scale_raises_device_unavailable(sim: Sim, driver: ScaleDriver) -> None:
    sim.unplug()
    with pytest.raises(DeviceUnavailable):
        driver.read()
    assert not driver.is_open
