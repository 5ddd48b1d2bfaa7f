"""Shannon entropy, measured against the character class a value is drawn from."""

from __future__ import annotations

import math
from collections import Counter

_HEX = frozenset(b"0123456789abcdefABCDEF")
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def shannon(data: bytes) -> float:
    """Bits per symbol of `data` (0.0 for empty input)."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


def charset(data: bytes) -> str:
    """The narrowest of 'hex', 'alnum', 'base64' or 'other' that holds every byte of `data`."""
    s = set(data)
    if s <= _HEX:
        return "hex"
    if s <= _ALNUM:
        return "alnum"
    if s <= _BASE64:
        return "base64"
    return "other"


# The most a random string of the class can reach per symbol is log2(class size); a value is
# judged against its own class so hex is not punished for having only 16 symbols.
_CLASS_BITS = {"hex": 4.0, "alnum": math.log2(62), "base64": 6.0, "other": math.log2(94)}


def normalised(data: bytes) -> float:
    """Entropy scaled to the 0..1 range of the value's own character class and length.

    A string of n symbols cannot exceed log2(n) bits per symbol, so short strings are
    measured against what they could reach, not against the class maximum.
    """
    if len(data) < 2:
        return 0.0
    ceiling = min(_CLASS_BITS[charset(data)], math.log2(len(data)))
    return shannon(data) / ceiling
