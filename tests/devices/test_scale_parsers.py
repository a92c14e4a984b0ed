"""The pure scale parsers: frames, units, status bits, and any chunking of the stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ProtocolError
from devices.scale.protocols import (
    ContinuousParser,
    SicsParser,
    Toledo8217Parser,
    parse_toledo_status,
    protocol_spec,
)
from devices.scale.readings import Fault, Reading, Reply, to_grams


def test_kilograms_convert_exactly_to_grams() -> None:
    assert to_grams("+001.234", "kg") == 1234
    assert to_grams("-0.05", "kg") == -50
    assert to_grams("9999.99", "kg") == 9_999_990


def test_sub_gram_figures_round_half_up() -> None:
    assert to_grams("12.5", "g") == 13
    assert to_grams("0.0004", "kg") == 0


def test_pounds_are_refused_not_converted() -> None:
    with pytest.raises(ProtocolError, match="kg or g"):
        to_grams("2.000", "lb")


def test_continuous_stable_unstable_net_and_tare_frames() -> None:
    parser = ContinuousParser()
    items = parser.feed(
        b"ST,GS,+001.234kg\r\nUS,GS,+000.512kg\r\nST,NT,-000.050kg\r\nST,TR,+000.100kg\r\n"
    )
    assert items == [
        Reading(1234, stable=True, kind="gross"),
        Reading(512, stable=False, kind="gross"),
        Reading(-50, stable=True, kind="net"),
        Reading(100, stable=True, kind="tare"),
    ]


def test_continuous_overload_and_underload() -> None:
    items = ContinuousParser().feed(b"OL,GS,+9999.99kg\r\nOL,GS,-9999.99kg\r\n")
    assert items == [
        Reading(None, stable=False, overload=True),
        Reading(None, stable=False, underload=True),
    ]


def test_continuous_grams_unit() -> None:
    assert ContinuousParser().feed(b"ST,GS,+001234g\r\n") == [Reading(1234, stable=True)]


def test_continuous_lb_frame_is_a_fault_not_a_weight() -> None:
    [item] = ContinuousParser().feed(b"ST,GS,+002.720lb\r\n")
    assert isinstance(item, Fault) and "lb" in item.reason


def test_continuous_noise_before_a_header_is_skipped() -> None:
    items = ContinuousParser().feed(b"\x00\xff\x13ST,GS,+001.234kg\r\n")
    assert items == [Reading(1234, stable=True)]


def test_continuous_cut_frame_is_dropped_not_misread() -> None:
    parser = ContinuousParser()
    # The port opened mid-frame; then a frame lost its tail to a glitch.
    items = parser.feed(b"234kg\r\nST,GS,+00\r\nST,GS,+002.000kg\r\n")
    assert items == [Reading(2000, stable=True)]
    assert parser.discarded == 2


def test_toledo_weight_reply_is_a_stable_reading() -> None:
    assert Toledo8217Parser().feed(b"\x0201.234\r") == [Reading(1234, stable=True)]


def test_toledo_weight_in_grams_when_configured() -> None:
    assert Toledo8217Parser(unit="g").feed(b"\x02001234\r") == [Reading(1234, stable=True)]


def test_toledo_refuses_a_pound_configuration_up_front() -> None:
    with pytest.raises(ProtocolError):
        Toledo8217Parser(unit="lb")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (b"A", Reading(None, stable=False)),  # 0x41: motion
        (b"B", Reading(None, stable=False, overload=True)),  # 0x42: over capacity
        (b"D", Reading(None, stable=False, underload=True)),  # 0x44: under capacity
        (b"P", Reading(0, stable=True)),  # 0x50: centre of zero
        (b"a", Reading(None, stable=False, kind="net")),  # 0x61: motion, net
    ],
)
def test_toledo_status_bits(status: bytes, expected: Reading) -> None:
    assert Toledo8217Parser().feed(b"\x02?" + status + b"\r") == [expected]


def test_toledo_zero_error_status_is_a_fault() -> None:
    items = parse_toledo_status(0x48)
    assert any(isinstance(i, Fault) and "zero" in i.reason for i in items)


def test_toledo_resyncs_on_the_next_stx() -> None:
    parser = Toledo8217Parser()
    items = parser.feed(b"\xfe\x13\r\x0201.2\x0201.234\r")
    assert items == [Reading(1234, stable=True)]
    assert parser.discarded == 1


def test_toledo_parity_bit_on_the_wire_is_ignored() -> None:
    frame = bytes(b | 0x80 for b in b"01.234")
    assert Toledo8217Parser().feed(b"\x82" + frame + b"\x8d") == [Reading(1234, stable=True)]


def test_sics_stable_and_dynamic_weights() -> None:
    items = SicsParser().feed(b"S S      1.234 kg\r\nS D      0.500 kg\r\nS S     -0.250 kg\r\n")
    assert [(i.grams, i.stable) for i in items if isinstance(i, Reading)] == [
        (1234, True),
        (500, False),
        (-250, True),
    ]


def test_sics_busy_overload_underload() -> None:
    items = SicsParser().feed(b"S I\r\nS +\r\nS -\r\n")
    assert items == [
        Reading(None, stable=False, kind="gross"),
        Reading(None, stable=False, overload=True),
        Reading(None, stable=False, underload=True),
    ]


def test_sics_command_replies() -> None:
    items = SicsParser().feed(b"Z A\r\nZA\r\nZ I\r\nT S      0.100 kg\r\nT +\r\n")
    assert items == [
        Reply("zero", True),
        Reply("zero", True),
        Reply("zero", False, "scale busy or load moving; steady the load and retry"),
        Reply("tare", True, tare_grams=100),
        Reply("tare", False, "load above the range allowed for this command"),
    ]


@pytest.mark.parametrize("code", [b"ES", b"ET", b"EL"])
def test_sics_error_replies_are_faults(code: bytes) -> None:
    [item] = SicsParser().feed(code + b"\r\n")
    assert isinstance(item, Fault) and "SICS" in item.reason


def test_sics_garbled_line_is_dropped() -> None:
    parser = SicsParser()
    assert parser.feed(b"S S     1.2S S      1.234 kg\r\n\x00\xffS S      2.000 kg\r\n") == [
        Reading(2000, stable=True, kind="net")
    ]
    assert parser.discarded == 1


def test_unknown_protocol_name_is_refused() -> None:
    with pytest.raises(ProtocolError, match="sics"):
        protocol_spec("dibal")


STREAMS = {
    "continuous": (
        ContinuousParser,
        b"\xffST,GS,+001.234kg\r\nUS,GS,+0.5kg\r\nOL,GS,+9999.99kg\r\n",
    ),
    "toledo8217": (Toledo8217Parser, b"\x13\x0201.234\r\x02?A\r\x02?B\r\x02002.500\r"),
    "sics": (SicsParser, b"S S      1.234 kg\r\nS D 0.500 kg\r\nZ A\r\nES\r\nT S 0.1 kg\r\n"),
}


@settings(max_examples=50, deadline=None)
@given(name=st.sampled_from(sorted(STREAMS)), cuts=st.lists(st.integers(0, 80), max_size=10))
def test_any_chunking_of_the_stream_parses_the_same(name: str, cuts: list[int]) -> None:
    make, stream = STREAMS[name]
    whole = make().feed(stream)
    parser = make()
    pieces, last = [], 0
    for cut in sorted(c for c in cuts if c <= len(stream)):
        pieces.append(stream[last:cut])
        last = cut
    pieces.append(stream[last:])
    assert [item for piece in pieces for item in parser.feed(piece)] == whole
    assert len(whole) >= 3
