"""Best-effort symbology hint from a decoded code (wedge scanners do not say which it was).

Only the retail GTIN family can be recognised reliably, by length and check digit; for
anything else the hint is None rather than a guess.
"""

from __future__ import annotations

_GTIN_NAMES: dict[int, str] = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


def gtin_check_digit_ok(digits: str) -> bool:
    """True if the last digit is the GS1 mod-10 check digit of the others."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    body, check = digits[:-1], int(digits[-1])
    # Weights 3,1,3,1… from the rightmost body digit.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def guess_symbology(code: str) -> str | None:
    """ "EAN-13", "EAN-8", "UPC-A", "GTIN-14" when the code is a valid GTIN, else None."""
    name = _GTIN_NAMES.get(len(code))
    if name is not None and code.isascii() and gtin_check_digit_ok(code):
        return name
    return None
