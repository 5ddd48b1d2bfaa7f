"""Offline structure checks named by rules (`validator = "..."`): checksums and decodable parts.

Each takes the secret bytes and answers whether it is well-formed; a rule whose validator
says no drops the match. Nothing here contacts the vendor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable

_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n: int, width: int) -> bytes:
    """`n` in base 62 (0-9A-Za-z), left-padded with '0' to `width`."""
    out = bytearray()
    while n:
        n, r = divmod(n, 62)
        out.insert(0, _BASE62[r])
    return bytes(out).rjust(width, b"0")


def crc32_base62(secret: bytes) -> bool:
    """GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm tokens: the last 6 characters are the base62
    CRC32 of the 30 random characters after the 4-character prefix."""
    if len(secret) != 40:
        return False
    return base62(binascii.crc32(secret[4:34]), 6) == secret[34:]


def _b64decode(part: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def jwt(secret: bytes) -> bool:
    """A JWT whose header decodes to JSON naming an algorithm."""
    parts = secret.split(b".")
    if len(parts) != 3:
        return False
    header = _b64decode(parts[0])
    if header is None:
        return False
    try:
        return isinstance(doc := json.loads(header), dict) and "alg" in doc
    except ValueError:
        return False


def base64_decodes(secret: bytes) -> bool:
    """The value is well-formed base64 (standard or URL-safe alphabet)."""
    if len(secret) % 4 == 1:
        return False
    return _b64decode(secret.replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")) is not None


VALIDATORS: dict[str, Callable[[bytes], bool]] = {
    "crc32_base62": crc32_base62,
    "jwt": jwt,
    "base64": base64_decodes,
}
