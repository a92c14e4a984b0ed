"""Scale wire protocols as pure, incremental parsers (bytes in, readings out).

Every parser keeps a buffer, so bytes may arrive in any chunks. A frame that is cut,
prefixed by line noise or otherwise not an exact match is dropped (and counted in
``discarded``); parsing resumes at the next terminator. Dropping is deliberate: a
garbled weight must never be misread as a different weight.

Continuous output (many A&D-style and Chinese indicators), one frame per line::

    ST,GS,+001.234kg\\r\\n    ST stable / US unstable / OL overload (sign - = underload)
    US,NT,-000.050kg        GS gross / NT net / TR the tare value
    units kg or g; lb is refused (Fault) rather than converted.

Toledo 8217 (weight-only, polled; 9600 baud 7E1). The host sends ``W``; the scale
answers ``STX weight CR`` (e.g. ``\\x0201.234\\r``, only when stable, in the unit
configured on the scale) or ``STX ? status CR``. Our reading of the status byte, from
the Mettler-Toledo 8217 description as implemented by Odoo's IoT-box driver (the bit
names match across sources; bit 6 is always 1 so the byte stays printable, bit 7 is the
parity bit on the wire)::

    bit 0  scale in motion              bit 3  outside zero capture range (zero error)
    bit 1  over capacity                bit 4  at centre of zero
    bit 2  under capacity / negative    bit 5  net weight (a tare is set)

So ``\\x02?A\\r`` (0x41) means "moving" and ``\\x02?B\\r`` means "over capacity". ``Z``
zeroes and ``T`` tares without a reply; the next ``W`` shows the result.

Mettler Toledo SICS (MT-SICS level 0/1), commands and replies end in CR LF::

    SI -> S S      1.234 kg   stable          Z -> Z A    zeroed
          S D      0.500 kg   dynamic              Z I    not now (moving, busy)
          S I                 busy                 Z +/-  beyond the zero range
          S +  /  S -         over / underload T -> T S      0.100 kg   tared
    any -> ES / ET / EL       syntax, transmission, logical error     T I, T +, T -
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import serial

from devices.errors import ProtocolError
from devices.scale.readings import Fault, Parsed, Reading, Reply, WeightKind, to_grams

STX, CR, LF = 0x02, 0x0D, 0x0A
_MAX_FRAME = 128  # no protocol here has frames near this; longer means garbage


class ScaleParser(Protocol):
    discarded: int

    def feed(self, data: bytes) -> list[Parsed]: ...
    def reset(self) -> None: ...


@dataclass(slots=True)
class _LineSplitter:
    """Splits on CR or LF, skipping empty lines and dropping runaway lines."""

    _buf: bytearray = field(default_factory=bytearray)
    _overflow: bool = False  # dropping the rest of a runaway line
    overflowed: int = 0

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        for byte in data:
            if byte in (CR, LF):
                if self._buf and not self._overflow:
                    lines.append(bytes(self._buf))
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) < _MAX_FRAME:
                self._buf.append(byte)
            else:
                self._buf.clear()
                if not self._overflow:
                    self.overflowed += 1
                self._overflow = True
        return lines

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = False


# -- continuous output ------------------------------------------------------------------

_CONT_START = re.compile(rb"(?:ST|US|OL),")
_CONT_FRAME = re.compile(
    rb"(?P<state>ST|US|OL),(?P<kind>GS|NT|TR),\s*(?P<sign>[+-]?)\s*"
    rb"(?P<num>\d+(?:\.\d+)?)?\s*(?P<unit>kg|g|lb|oz)?\s*"
)
_KINDS: dict[bytes, WeightKind] = {b"GS": "gross", b"NT": "net", b"TR": "tare"}


@dataclass(slots=True)
class ContinuousParser:
    discarded: int = 0
    _lines: _LineSplitter = field(default_factory=_LineSplitter)

    def feed(self, data: bytes) -> list[Parsed]:
        out: list[Parsed] = []
        for line in self._lines.feed(data):
            item = self._parse(line)
            if item is None:
                self.discarded += 1
            else:
                out.append(item)
        return out

    def reset(self) -> None:
        self._lines.reset()

    def _parse(self, line: bytes) -> Parsed | None:
        # Noise before the header is tolerated: start at the last header on the line.
        starts = [m.start() for m in _CONT_START.finditer(line)]
        if not starts:
            return None
        m = _CONT_FRAME.fullmatch(line, starts[-1])
        if m is None:
            return None
        kind = _KINDS[m["kind"]]
        if m["state"] == b"OL":
            # The figure in an OL frame is whatever the display shows (often 9s): unusable.
            under = m["sign"] == b"-"
            return Reading(None, stable=False, overload=not under, underload=under, kind=kind)
        if m["num"] is None or m["unit"] is None:
            return None  # a frame cut before its unit: "+00" must not read as 0 g
        try:
            grams = to_grams((m["sign"] + m["num"]).decode(), m["unit"].decode())
        except ProtocolError as exc:
            return Fault(str(exc), line)
        return Reading(grams, stable=m["state"] == b"ST", kind=kind)


# -- Toledo 8217 ------------------------------------------------------------------------

MOTION, OVER, UNDER, ZERO_ERROR, CENTER_ZERO, NET = (1 << i for i in range(6))
_TOLEDO_WEIGHT = re.compile(rb"\s*(?P<num>-?\d+(?:\.\d+)?)\s*(?P<net>N?)\s*")


@dataclass(slots=True)
class Toledo8217Parser:
    unit: str = "kg"  # what the scale is set to send; the frame itself carries no unit
    discarded: int = 0
    _buf: bytearray | None = None  # None: waiting for STX

    def __post_init__(self) -> None:
        to_grams("0", self.unit)  # refuse lb at construction, not on the first frame

    def feed(self, data: bytes) -> list[Parsed]:
        out: list[Parsed] = []
        for byte in data:
            byte &= 0x7F  # a port opened 8N1 on a 7E1 line leaves the parity bit set
            if byte == STX:
                if self._buf:
                    self.discarded += 1  # a new frame began before the old one ended
                self._buf = bytearray()
            elif self._buf is None:
                continue  # noise between frames
            elif byte == CR:
                out.extend(self._parse(bytes(self._buf)))
                self._buf = None
            elif len(self._buf) < _MAX_FRAME:
                self._buf.append(byte)
            else:
                self._buf = None
                self.discarded += 1
        return out

    def reset(self) -> None:
        self._buf = None

    def _parse(self, payload: bytes) -> list[Parsed]:
        raw = b"\x02" + payload + b"\r"
        if payload.startswith(b"?") and len(payload) == 2:
            return parse_toledo_status(payload[1], raw)
        m = _TOLEDO_WEIGHT.fullmatch(payload)
        if m is None:
            self.discarded += 1
            return []
        kind: WeightKind = "net" if m["net"] else "gross"
        return [Reading(to_grams(m["num"].decode(), self.unit), stable=True, kind=kind)]


def parse_toledo_status(status: int, raw: bytes = b"") -> list[Parsed]:
    """Turn an 8217 status byte into what it tells us (see the module docstring)."""
    bits = status & 0x3F
    if bits & ZERO_ERROR:
        # Only the fault: whatever else the byte says is not a weight we can trust.
        return [Fault("scale outside zero capture range: empty the platter and zero it", raw)]
    out: list[Parsed] = []
    kind: WeightKind = "net" if bits & NET else "gross"
    if bits & (OVER | UNDER):
        over, under = bool(bits & OVER), bool(bits & UNDER)
        out.append(Reading(None, stable=False, overload=over, underload=under, kind=kind))
    elif bits & MOTION:
        out.append(Reading(None, stable=False, kind=kind))
    elif bits & CENTER_ZERO:
        out.append(Reading(0, stable=True, kind=kind))
    else:
        # Stable but no figure: still an answer to the poll, so the driver counts the
        # scale as alive; the settle filter ignores readings without grams.
        out.append(Reading(None, stable=True, kind=kind))
    return out


# -- Mettler Toledo SICS ----------------------------------------------------------------

_NUM = rb"(?P<num>[+-]?\s*\d+(?:\.\d+)?)\s+(?P<unit>\S+)"
_SICS_WEIGHT = re.compile(rb"S\s+(?P<flag>[SD])\s+" + _NUM + rb"\s*")
_SICS_STATE = re.compile(rb"S\s+(?P<flag>[I+-])\s*")
_SICS_ZERO = re.compile(rb"Z\s*(?P<flag>[AI+-])\s*")
_SICS_TARE_OK = re.compile(rb"T\s*S\s+" + _NUM + rb"\s*")
_SICS_TARE_NO = re.compile(rb"T\s*(?P<flag>[I+-])\s*")
_SICS_ERROR = re.compile(rb"(?P<code>E[STL])\s*")
_LEADING_NOISE = re.compile(rb"^[^A-Z]+")

_SICS_ERRORS = {
    b"ES": "scale did not recognise the command (SICS syntax error)",
    b"ET": "scale received a garbled command (SICS transmission error)",
    b"EL": "scale cannot execute the command now (SICS logical error)",
}
_REFUSALS = {
    b"I": "scale busy or load moving; steady the load and retry",
    b"+": "load above the range allowed for this command",
    b"-": "load below the range allowed for this command",
}


@dataclass(slots=True)
class SicsParser:
    discarded: int = 0
    _lines: _LineSplitter = field(default_factory=_LineSplitter)

    def feed(self, data: bytes) -> list[Parsed]:
        out: list[Parsed] = []
        for line in self._lines.feed(data):
            item = self._parse(_LEADING_NOISE.sub(b"", line))
            if item is None:
                self.discarded += 1
            else:
                out.append(item)
        return out

    def reset(self) -> None:
        self._lines.reset()

    def _parse(self, line: bytes) -> Parsed | None:
        try:
            return self._match(line)
        except ProtocolError as exc:
            return Fault(str(exc), line)

    def _match(self, line: bytes) -> Parsed | None:
        if m := _SICS_WEIGHT.fullmatch(line):
            grams = to_grams(m["num"].decode(), m["unit"].decode())
            return Reading(grams, stable=m["flag"] == b"S", kind="net")
        if m := _SICS_STATE.fullmatch(line):
            flag = m["flag"]
            return Reading(None, stable=False, overload=flag == b"+", underload=flag == b"-")
        if m := _SICS_ZERO.fullmatch(line):
            ok = m["flag"] == b"A"
            return Reply("zero", ok, "" if ok else _REFUSALS[m["flag"]])
        if m := _SICS_TARE_OK.fullmatch(line):
            return Reply("tare", True, tare_grams=to_grams(m["num"].decode(), m["unit"].decode()))
        if m := _SICS_TARE_NO.fullmatch(line):
            return Reply("tare", False, _REFUSALS[m["flag"]])
        if m := _SICS_ERROR.fullmatch(line):
            return Fault(_SICS_ERRORS[m["code"]], line)
        return None


# -- registry ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """Everything the driver needs to know about one protocol besides parsing."""

    name: str
    make_parser: Callable[[str], ScaleParser]  # argument: the configured unit
    baudrate: int
    bytesize: int
    parity: str
    stopbits: float
    poll: bytes | None  # sent once per read cycle; None when the scale streams by itself
    commands: Mapping[str, bytes]  # "tare" / "zero" -> bytes to send
    commands_reply: bool  # whether the scale answers tare/zero (SICS does, 8217 does not)


PROTOCOLS: dict[str, ProtocolSpec] = {
    "continuous": ProtocolSpec(
        "continuous", lambda unit: ContinuousParser(), 9600, serial.EIGHTBITS,
        serial.PARITY_NONE, serial.STOPBITS_ONE, None, {}, False,
    ),
    "toledo8217": ProtocolSpec(
        "toledo8217", lambda unit: Toledo8217Parser(unit=unit), 9600, serial.SEVENBITS,
        serial.PARITY_EVEN, serial.STOPBITS_ONE, b"W", {"tare": b"T", "zero": b"Z"}, False,
    ),
    "sics": ProtocolSpec(
        "sics", lambda unit: SicsParser(), 9600, serial.EIGHTBITS, serial.PARITY_NONE,
        serial.STOPBITS_ONE, b"SI\r\n", {"tare": b"T\r\n", "zero": b"Z\r\n"}, True,
    ),
}  # fmt: skip


def protocol_spec(name: str) -> ProtocolSpec:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ProtocolError(
            f"unknown scale protocol {name!r}; choose one of {sorted(PROTOCOLS)}"
        ) from None
