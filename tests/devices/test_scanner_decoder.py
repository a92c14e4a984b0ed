"""The wedge-scanner decoder, fed recorded evdev event streams."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from evdev import InputEvent
from evdev import ecodes as e
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.scanner.decoder import DecoderConfig, ScanDecoder
from devices.scanner.evdev_scanner import decoder_config
from devices.scanner.keymap import KEYMAP, suffix_keys
from devices.simulators.scanner_recordings import record_scan, record_typing

T0 = 1_700_000_000.0


def decode(events: Sequence[InputEvent], config: DecoderConfig | None = None) -> list[str]:
    return ScanDecoder(config or DecoderConfig()).feed_events(events)


def test_a_scan_of_digits_yields_exactly_that_code() -> None:
    assert decode(record_scan("6901234567892", T0)) == ["6901234567892"]


def test_upper_case_letters_are_decoded_through_shift() -> None:
    assert decode(record_scan("SKU-AbC-42", T0)) == ["SKU-AbC-42"]


def test_keypad_digits_decode_like_top_row_digits() -> None:
    events = record_scan("4006381333931", T0, use_keypad_digits=True)
    assert e.KEY_KP4 in {ev.code for ev in events}  # the recording really used the keypad
    assert decode(events) == ["4006381333931"]


def test_keypad_symbols_decode() -> None:
    events = record_scan("12-3.4/5*6+7", T0, use_keypad_digits=True, keypad_symbols=True)
    assert e.KEY_KPMINUS in {ev.code for ev in events}
    assert decode(events) == ["12-3.4/5*6+7"]


def test_shift_digit_symbols_and_punctuation_decode() -> None:
    code = "!@#$%^&*()_+-=:;.,/?[]{}|'\"`~<> "
    assert decode(record_scan(f"A{code}Z", T0)) == [f"A{code}Z"]


def test_right_shift_works_like_left_shift() -> None:
    swapped = []
    for ev in record_scan("AB1", T0):
        if ev.type == e.EV_KEY and ev.code == e.KEY_LEFTSHIFT:
            ev.code = e.KEY_RIGHTSHIFT
        swapped.append(ev)
    assert decode(swapped) == ["AB1"]


def test_gs1_separator_typed_as_ctrl_bracket_becomes_ascii_gs() -> None:
    code = "0109501101530003\x1d10ABC"
    assert decode(record_scan(code, T0)) == [code]


def test_keypad_enter_also_ends_a_scan() -> None:
    assert decode(record_scan("12345", T0, suffix="KEY_KPENTER")) == ["12345"]


def test_consecutive_scans_yield_one_code_each() -> None:
    events = record_scan("111", T0) + record_scan("2222", T0 + 0.5)
    assert decode(events) == ["111", "2222"]


def test_tab_suffix_ends_a_scan_when_configured() -> None:
    events = record_scan("ABC-123", T0, suffix="tab")
    assert decode(events, decoder_config(suffix="tab")) == ["ABC-123"]


def test_with_tab_suffix_enter_is_not_a_terminator() -> None:
    assert decode(record_scan("ABC-123", T0), decoder_config(suffix="tab")) == []


def test_human_typing_is_not_taken_for_a_scan() -> None:
    assert decode(record_typing("6901234567892", T0)) == []


def test_typing_interleaved_with_scans_never_becomes_a_scan() -> None:
    events = (
        record_typing("hello", T0)
        + record_scan("ABC123", T0 + 2.0)
        + record_typing("world42", T0 + 3.0)
        + record_scan("6901234567892", T0 + 6.0)
    )
    decoder = ScanDecoder()
    assert decoder.feed_events(events) == ["ABC123", "6901234567892"]
    assert decoder.stats.discarded_typing > 0


def test_a_scan_right_after_typing_loses_nothing_of_the_scan() -> None:
    events = record_typing("abc", T0, enter=False) + record_scan("XYZ789", T0 + 0.7)
    assert decode(events) == ["XYZ789"]


def test_one_slow_gap_inside_a_burst_discards_the_burst() -> None:
    events = record_scan("1234", T0)[:-6]  # the code without its Enter
    events += record_scan("", T0 + 1.0)  # Enter alone, a second later
    assert decode(events) == []


def test_interkey_limit_is_configurable() -> None:
    events = record_scan("ABCDEF", T0, interkey_ms=80)  # a slow, cheap scanner
    assert decode(events) == []
    assert decode(events, decoder_config(max_interkey_ms=100)) == ["ABCDEF"]


def test_bursts_shorter_than_the_minimum_length_are_dropped() -> None:
    assert decode(record_scan("12", T0)) == []
    assert decode(record_scan("12", T0), decoder_config(min_length=2)) == ["12"]


def test_autorepeat_events_add_no_characters() -> None:
    events = record_typing("a", T0, autorepeat_after_ms=250, enter=False)
    assert any(ev.type == e.EV_KEY and ev.value == 2 for ev in events)
    events += record_scan("CODE1", T0 + 1.0)
    assert decode(events) == ["CODE1"]


def test_key_releases_alone_produce_nothing() -> None:
    releases = [ev for ev in record_scan("ABC", T0) if ev.type != e.EV_KEY or ev.value == 0]
    assert decode(releases) == []


def test_reset_forgets_a_held_shift() -> None:
    decoder = ScanDecoder()
    decoder.feed(e.EV_KEY, e.KEY_LEFTSHIFT, 1, T0)
    decoder.reset()
    assert decoder.feed_events(record_scan("abc", T0 + 1)) == ["abc"]


def test_unknown_suffix_name_is_refused() -> None:
    with pytest.raises(ValueError, match="suffix"):
        suffix_keys("newline")


printable = st.text(
    alphabet=st.sampled_from(sorted({c for pair in KEYMAP.values() for c in pair})),
    min_size=3,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(code=printable, keypad=st.booleans(), gap=st.floats(min_value=1, max_value=40))
def test_any_us_layout_code_survives_the_round_trip(code: str, keypad: bool, gap: float) -> None:
    events = record_scan(code, T0, interkey_ms=gap, use_keypad_digits=keypad)
    assert decode(events) == [code]
