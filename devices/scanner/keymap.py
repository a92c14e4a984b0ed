"""US keyboard layout: evdev keycode -> (plain, shifted) character.

Keyboard-wedge scanners "type" the barcode as if on a US keyboard. Many send symbols as
Shift+digit and some send digits as keypad keys (NumLock assumed on, which is how
scanners are configured), so both rows map here. Keypad keys ignore Shift because a
scanner never relies on Shift+keypad.
"""

from __future__ import annotations

from evdev import ecodes as e

# (plain, shifted)
_MAIN: dict[int, tuple[str, str]] = {
    e.KEY_1: ("1", "!"),
    e.KEY_2: ("2", "@"),
    e.KEY_3: ("3", "#"),
    e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"),
    e.KEY_6: ("6", "^"),
    e.KEY_7: ("7", "&"),
    e.KEY_8: ("8", "*"),
    e.KEY_9: ("9", "("),
    e.KEY_0: ("0", ")"),
    e.KEY_MINUS: ("-", "_"),
    e.KEY_EQUAL: ("=", "+"),
    e.KEY_LEFTBRACE: ("[", "{"),
    e.KEY_RIGHTBRACE: ("]", "}"),
    e.KEY_BACKSLASH: ("\\", "|"),
    e.KEY_SEMICOLON: (";", ":"),
    e.KEY_APOSTROPHE: ("'", '"'),
    e.KEY_GRAVE: ("`", "~"),
    e.KEY_COMMA: (",", "<"),
    e.KEY_DOT: (".", ">"),
    e.KEY_SLASH: ("/", "?"),
    e.KEY_SPACE: (" ", " "),
}

_LETTER_KEYS: dict[str, int] = {
    "a": e.KEY_A, "b": e.KEY_B, "c": e.KEY_C, "d": e.KEY_D, "e": e.KEY_E, "f": e.KEY_F,
    "g": e.KEY_G, "h": e.KEY_H, "i": e.KEY_I, "j": e.KEY_J, "k": e.KEY_K, "l": e.KEY_L,
    "m": e.KEY_M, "n": e.KEY_N, "o": e.KEY_O, "p": e.KEY_P, "q": e.KEY_Q, "r": e.KEY_R,
    "s": e.KEY_S, "t": e.KEY_T, "u": e.KEY_U, "v": e.KEY_V, "w": e.KEY_W, "x": e.KEY_X,
    "y": e.KEY_Y, "z": e.KEY_Z,
}  # fmt: skip

KEYPAD: dict[int, str] = {
    e.KEY_KP0: "0",
    e.KEY_KP1: "1",
    e.KEY_KP2: "2",
    e.KEY_KP3: "3",
    e.KEY_KP4: "4",
    e.KEY_KP5: "5",
    e.KEY_KP6: "6",
    e.KEY_KP7: "7",
    e.KEY_KP8: "8",
    e.KEY_KP9: "9",
    e.KEY_KPMINUS: "-",
    e.KEY_KPDOT: ".",
    e.KEY_KPSLASH: "/",
    e.KEY_KPASTERISK: "*",
    e.KEY_KPPLUS: "+",
    e.KEY_KPEQUAL: "=",
    e.KEY_KPCOMMA: ",",
}

KEYMAP: dict[int, tuple[str, str]] = {
    **_MAIN,
    **{code: (ch, ch.upper()) for ch, code in _LETTER_KEYS.items()},
    **{code: (ch, ch) for code, ch in KEYPAD.items()},
}

SHIFT_KEYS: frozenset[int] = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
CTRL_KEYS: frozenset[int] = frozenset({e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL})
ENTER_KEYS: frozenset[int] = frozenset({e.KEY_ENTER, e.KEY_KPENTER})

# GS1 barcodes carry the FNC1 separator as ASCII GS (0x1D); wedge scanners type it as
# Ctrl+], which is also how a terminal spells GS. Other Ctrl chords mean nothing here.
CTRL_CHARS: dict[int, str] = {e.KEY_RIGHTBRACE: "\x1d"}

# Names accepted in configuration for the scan suffix, besides any evdev "KEY_*" name.
SUFFIX_NAMES: dict[str, frozenset[int]] = {
    "enter": ENTER_KEYS,
    "tab": frozenset({e.KEY_TAB}),
}


def char_for(code: int, *, shift: bool) -> str | None:
    """The character a US keyboard types for ``code``, or None for non-printing keys."""
    pair = KEYMAP.get(code)
    if pair is None:
        return None
    return pair[1] if shift else pair[0]


def keys_for_char(ch: str) -> tuple[int, bool] | None:
    """The main-block key and Shift state that type ``ch`` (inverse of char_for)."""
    for code, (plain, shifted) in KEYMAP.items():
        if code in KEYPAD:
            continue
        if ch == plain:
            return code, False
        if ch == shifted:
            return code, True
    return None


def suffix_keys(name: str) -> frozenset[int]:
    """Resolve a configured suffix ("enter", "tab" or an evdev name like "KEY_F12")."""
    if name.lower() in SUFFIX_NAMES:
        return SUFFIX_NAMES[name.lower()]
    code = e.ecodes.get(name.upper())
    if code is None or not name.upper().startswith("KEY_"):
        raise ValueError(f"unknown scanner suffix {name!r}; use 'enter', 'tab' or a KEY_* name")
    return frozenset({code})
