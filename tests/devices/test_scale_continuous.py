"""Continuous-output scale over a real pty: the simulator writes, the driver reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devices.errors import DeviceUnavailable, ProtocolError
from devices.events import DeviceStatus, WeightEvent
from devices.scale.driver import ScaleDriver, ScaleOutput
from devices.simulators.scale_sim import ScaleSimulator

Sim = ScaleSimulator
MakeSim = Callable[..., ScaleSimulator]
Collect = Callable[[ScaleDriver, int], list[ScaleOutput]]


def weights(outputs: list[ScaleOutput]) -> list[WeightEvent]:
    return [o for o in outputs if isinstance(o, WeightEvent)]


def statuses(outputs: list[ScaleOutput]) -> list[DeviceStatus]:
    return [o for o in outputs if isinstance(o, DeviceStatus)]


@pytest.fixture
def sim(scale_sim: MakeSim) -> ScaleSimulator:
    return scale_sim("continuous")


@pytest.fixture
def driver(sim: ScaleSimulator) -> Iterator[ScaleDriver]:
    with ScaleDriver(sim.scale_config(device_id="lane1-scale")) as driver:
        yield driver


def test_stable_frame_becomes_a_weight_event(
    sim: Sim, driver: ScaleDriver, collect: Collect
) -> None:
    sim.set_weight(1234)
    sim.emit(1)
    [event] = weights(collect(driver, 1))
    assert (event.device, event.grams, event.stable, event.tare_grams) == (
        "lane1-scale",
        1234,
        True,
        0,
    )


def test_noise_and_cut_frames_are_skipped(sim: Sim, driver: ScaleDriver, collect: Collect) -> None:
    # Mid-frame open, line noise, a frame cut short by the next one, then a good frame.
    sim.inject(b"4kg\r\n\x00\xff\x13ST,GS,+00ST,GS,+002.500kg\r\nUS,G")
    sim.set_weight(2500)
    sim.emit(1)  # completes nothing of the cut "US,G": it is dropped with the next CR LF
    sim.emit(1)
    assert [e.grams for e in weights(collect(driver, 2))] == [2500]


def test_unstable_frames_are_not_published(sim: Sim, driver: ScaleDriver, collect: Collect) -> None:
    sim.set_weight(480, stable=False)
    sim.emit(10)
    assert weights(collect(driver, 10)) == []


def test_negative_weight_is_reported(sim: Sim, driver: ScaleDriver, collect: Collect) -> None:
    sim.set_weight(-50)
    sim.emit(3)
    assert [e.grams for e in weights(collect(driver, 3))] == [-50]


def test_overload_is_reported_once(sim: Sim, driver: ScaleDriver, collect: Collect) -> None:
    sim.set_overload()
    sim.emit(5)
    events = weights(collect(driver, 5))
    assert [(e.overload, e.underload, e.stable) for e in events] == [(True, False, False)]


def test_underload_is_reported(sim: Sim, driver: ScaleDriver, collect: Collect) -> None:
    sim.set_underload()
    sim.emit(2)
    assert [e.underload for e in weights(collect(driver, 2))] == [True]


def test_a_stable_weight_is_published_once_per_settle(
    sim: Sim, driver: ScaleDriver, collect: Collect
) -> None:
    sim.set_weight(1234)
    sim.emit(30)
    sim.set_unstable()  # the item is lifted and put back
    sim.emit(5)
    sim.set_weight(1234)
    sim.emit(30)
    sim.set_weight(0)  # taken off
    sim.emit(30)
    events = weights(collect(driver, 95))
    assert [(e.grams, e.stable) for e in events] == [(1234, True), (1234, True), (0, True)]


def test_a_streaming_scale_is_read_without_help(scale_sim: MakeSim, collect: Collect) -> None:
    sim = scale_sim("continuous", stream_interval=0.005)
    sim.set_weight(750)
    with ScaleDriver(sim.scale_config()) as driver:
        events = weights(collect(driver, 20))
    assert [e.grams for e in events] == [750]


def test_pounds_put_the_scale_in_error_and_publish_no_weight(
    sim: Sim, driver: ScaleDriver, collect: Collect
) -> None:
    sim.inject(b"ST,GS,+002.720lb\r\n" * 3)
    outputs: list[ScaleOutput] = []
    while driver.faults < 3:
        outputs += driver.read()
    assert weights(outputs) == []
    [status] = statuses(outputs)  # one status change, not one per frame
    assert status.state == "error" and "kg or g" in status.detail


def test_the_scale_is_back_online_after_a_good_frame(
    sim: Sim, driver: ScaleDriver, collect: Collect
) -> None:
    sim.inject(b"ST,GS,+002.720lb\r\n")
    sim.set_weight(100)
    sim.emit(1)
    assert [s.state for s in statuses(collect(driver, 1))] == ["error", "online"]


def test_a_silent_scale_is_reported_offline(scale_sim: MakeSim) -> None:
    sim = scale_sim("continuous")  # never emits
    with ScaleDriver(sim.scale_config(reply_timeout=0.05, max_missed=2)) as driver:
        outputs = driver.read() + driver.read()
    assert [(s.state, s.detail) for s in statuses(outputs)] == [
        ("offline", "no data from the scale")
    ]


def test_unplug_raises_device_unavailable_and_replug_resumes(
    sim: Sim, driver: ScaleDriver, collect: Collect
) -> None:
    sim.set_weight(900)
    sim.emit(2)
    assert [e.grams for e in weights(collect(driver, 2))] == [900]
    sim.unplug()
    with pytest.raises(DeviceUnavailable):
        driver.read()
    assert driver.status().state == "offline"
    with pytest.raises(DeviceUnavailable):
        driver.open()  # still unplugged: the by-id link is gone
    sim.replug()
    assert driver.open().state == "online"
    sim.emit(2)
    # A new session publishes the weight on the platter again.
    assert [e.grams for e in weights(collect(driver, 4))] == [900]


def test_continuous_scales_take_no_tare_command(driver: ScaleDriver) -> None:
    assert not driver.supports("tare")
    with pytest.raises(ProtocolError, match="key on the scale"):
        driver.tare()
