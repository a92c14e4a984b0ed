from sync_protocol.hlc import HybridClock, counter_of, pack, wall_ms_of


def clock_at(ms: list[int], drift_ms: int = 1000) -> HybridClock:
    return HybridClock(physical_ms=lambda: ms[0], max_drift_ms=drift_ms)


def test_stamps_increase_while_physical_time_stands_still() -> None:
    t = [1000]
    clock = clock_at(t)
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(set(stamps))
    assert all(wall_ms_of(s) == 1000 for s in stamps)


def test_stamps_increase_when_physical_time_goes_backwards() -> None:
    t = [5000]
    clock = clock_at(t)
    first = clock.now()
    t[0] = 4000
    assert clock.now() > first


def test_new_physical_millisecond_resets_the_counter() -> None:
    t = [1000]
    clock = clock_at(t)
    clock.now()
    clock.now()
    t[0] = 1001
    assert clock.now() == pack(1001, 0)


def test_observing_a_later_remote_stamp_moves_the_clock_past_it() -> None:
    t = [1000]
    clock = clock_at(t)
    remote = pack(1500, 7)
    assert clock.observe(remote)
    assert clock.now() > remote


def test_a_stamp_beyond_the_clock_guard_is_refused_and_does_not_drag_the_clock() -> None:
    t = [1000]
    clock = clock_at(t, drift_ms=100)
    assert not clock.observe(pack(5000, 0))
    assert wall_ms_of(clock.now()) == 1000


def test_counter_overflow_carries_into_the_millisecond() -> None:
    t = [1000]
    clock = clock_at(t)
    clock.last = pack(1000, 0xFFFF)
    stamp = clock.now()
    assert wall_ms_of(stamp) == 1001 and counter_of(stamp) == 0
