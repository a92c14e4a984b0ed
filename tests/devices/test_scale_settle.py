"""The settle filter: which readings become published weight events."""

from __future__ import annotations

from devices.scale.readings import Reading
from devices.scale.settle import SettleConfig, SettleFilter


def stable(grams: int) -> Reading:
    return Reading(grams, stable=True)


def moving(grams: int | None = None) -> Reading:
    return Reading(grams, stable=False)


def published(readings: list[Reading], config: SettleConfig | None = None) -> list[int | None]:
    settle = SettleFilter(config or SettleConfig())
    return [r.grams for r in readings if settle.offer(r)]


def test_a_steady_weight_is_published_once() -> None:
    assert published([stable(1234)] * 200) == [1234]


def test_a_new_stable_weight_is_published() -> None:
    assert published([stable(1234)] * 5 + [stable(1500)] * 5) == [1234, 1500]


def test_lifting_and_putting_back_the_same_weight_is_a_new_settle() -> None:
    readings = [stable(800)] * 3 + [moving(400)] * 3 + [stable(800)] * 3
    assert published(readings) == [800, 800]


def test_emptying_the_platter_publishes_zero_then_the_next_item() -> None:
    readings = [stable(800)] * 3 + [stable(0)] * 3 + [stable(800)] * 3
    assert published(readings) == [800, 0, 800]


def test_without_republish_only_a_changed_weight_counts() -> None:
    readings = [stable(800)] * 3 + [moving()] * 3 + [stable(800)] * 3 + [stable(900)]
    assert published(readings, SettleConfig(republish_after_motion=False)) == [800, 900]


def test_jitter_within_delta_is_the_same_settle() -> None:
    readings = [stable(1000), stable(1001), stable(999), stable(1005)]
    config = SettleConfig(delta_grams=2, republish_after_motion=False)
    assert published(readings, config) == [1000, 1005]


def test_moving_weights_are_not_published_by_default() -> None:
    assert published([moving(100), moving(300), moving(500)]) == []


def test_moving_weights_are_published_on_change_when_asked() -> None:
    config = SettleConfig(publish_unstable=True)
    assert published([moving(100), moving(100), moving(300)], config) == [100, 300]


def test_overload_is_published_once_when_it_starts() -> None:
    settle = SettleFilter()
    over = Reading(None, stable=False, overload=True)
    flags = [settle.offer(r) for r in [stable(500), over, over, over, stable(500)]]
    assert flags == [True, True, False, False, True]


def test_a_tare_change_is_a_new_settle() -> None:
    settle = SettleFilter(SettleConfig(republish_after_motion=False))
    assert settle.offer(stable(0), tare_grams=0)
    assert settle.offer(stable(0), tare_grams=100)


def test_reset_publishes_the_current_weight_again() -> None:
    settle = SettleFilter()
    assert settle.offer(stable(700))
    settle.reset()
    assert settle.offer(stable(700))
