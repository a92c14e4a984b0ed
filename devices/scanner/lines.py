"""Serial-scanner framing: bytes in, one cleaned-up code per terminated line out. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

# Keep GS (0x1D): it is the FNC1 separator inside GS1 codes, i.e. data, not noise.
_KEEP_CONTROLS = frozenset({"\x1d"})


def clean_code(text: str) -> str:
    """Drop control characters (NUL, STX/ETX framing, DEL…) and surrounding blanks."""
    kept = "".join(ch for ch in text if ch in _KEEP_CONTROLS or (ch >= " " and ch != "\x7f"))
    return kept.strip()


@dataclass(slots=True)
class LineDecoder:
    """Splits a byte stream on any terminator byte (CR or LF by default).

    CR LF therefore yields one line plus an empty one, and empty lines are not scans.
    A line longer than ``max_length`` without a terminator is dropped: the terminator
    setting is wrong or the line is garbage, and either way it is not a barcode.
    """

    terminators: bytes = b"\r\n"
    encoding: str = "utf-8"
    max_length: int = 4096
    _buf: bytearray = field(default_factory=bytearray)
    _overflow: bool = False  # dropping the rest of a runaway line

    def feed(self, data: bytes) -> list[str]:
        codes: list[str] = []
        for byte in data:
            if byte in self.terminators:
                code = clean_code(self._buf.decode(self.encoding, errors="replace"))
                if code and not self._overflow:
                    codes.append(code)
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) < self.max_length:
                self._buf.append(byte)
            else:
                self._buf.clear()
                self._overflow = True
        return codes

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = False
