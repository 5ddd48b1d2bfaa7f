"""Encoded text inside a blob: base64, hex and percent-encoded runs, decoded so they can be scanned again.

Only blobs that hint at encoding are searched (a Kubernetes Secret, a Docker auth, a decode call, an
encoded `://` or `@`); the hints are found in the matcher's single hyperscan pass, so clean blobs cost
nothing extra. Runs are bounded in length and count, and the caller bounds the depth.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Collection, Iterator
from urllib.parse import unquote_to_bytes

MAX_SEGMENTS = 64           # per blob and depth
MAX_SEGMENT = 64 * 1024     # bytes of encoded text per segment
MAX_BLOB = 4 * 1024 * 1024  # blobs larger than this are not searched for encoded text

# Words that say a blob holds encoded values (lower case, matched case-insensitively). Without one
# the blob is not searched: searching every blob for long runs would double a history audit.
HINTS: dict[str, tuple[bytes, ...]] = {
    "base64": (b"kind: secret", b"dockerconfigjson", b'"auths"', b"base64 -d", b"base64 --decode",
               b"b64decode(", b"atob(", b"frombase64", b"encoding: base64"),
    "hex": (b"fromhex", b"unhexlify", b"hex-encoded", b"hex_encoded", b"xxd -r"),
    "percent": (b"%3a%2f%2f", b"%22%3a%22"),  # an encoded "://" or ":" (short hints slow every scan)
}

# Each encoding's alphabet and shortest run worth decoding; edges are checked after.
_ALPHABETS = {"base64": (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 20),
              "hex": (b"0123456789abcdefABCDEF", 32)}
_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+-%")
_WORDISH = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def hinted(data: bytes) -> set[str]:
    """The encodings `data` hints at (the path without hyperscan; the matcher finds these in its pass)."""
    low = data.lower()
    return {kind for kind, words in HINTS.items() if any(w in low for w in words)}


_TEXT = bytes([*range(32, 127), 9, 10, 13])


def _printable(data: bytes) -> bool:
    """Mostly text: what a config value or a token decodes to, not random bytes."""
    if not data:
        return False
    text = len(data) - len(data.translate(None, _TEXT))  # deleting the text bytes counts them at C speed
    return text >= 0.95 * len(data)


def segments(data: bytes, kinds: Collection[str]) -> Iterator[tuple[int, int, bytes, str]]:
    """(start, end, decoded bytes, encoding) for each encoded run of the given kinds worth scanning again."""
    if len(data) > MAX_BLOB:
        return
    found = 0
    for kind in sorted(kinds):
        if kind == "percent":
            for start, end in _percent_runs(data):
                decoded = bytes(unquote_to_bytes(data[start:end]))
                if _printable(decoded):
                    yield start, end, decoded, kind
                    found += 1
                    if found >= MAX_SEGMENTS:
                        return
            continue
        for start, end in _runs(data, *_ALPHABETS[kind]):
            if kind == "base64":
                end += len(data[end : end + 2]) - len(data[end : end + 2].lstrip(b"="))  # padding
            if end - start > MAX_SEGMENT:
                continue
            if start > 0 and data[start - 1] in _WORDISH or end < len(data) and data[end] in _WORDISH:
                continue  # part of a longer word or identifier, not an encoded value
            decoded = _decode(kind, data[start:end])
            if decoded is not None and _printable(decoded):
                yield start, end, decoded, kind
                found += 1
                if found >= MAX_SEGMENTS:
                    return


def _runs(data: bytes, alphabet: bytes, shortest: int) -> Iterator[tuple[int, int]]:
    """Maximal runs of `alphabet` bytes at least `shortest` long. The alphabet is mapped to one byte and
    everything else to another, then runs are found with `bytes.find`: C speed, where a regex would
    try every position of the blob."""
    mapped = data.translate(_class_table(alphabet))
    needle = b"a" * shortest
    start = mapped.find(needle)
    while start != -1:
        end = mapped.find(b" ", start + shortest)
        if end == -1:
            end = len(mapped)
        yield start, end
        start = mapped.find(needle, end)


@functools.cache
def _class_table(alphabet: bytes) -> bytes:
    table = bytearray(b" " * 256)
    for c in alphabet:
        table[c] = ord("a")
    return bytes(table)


def _percent_runs(data: bytes) -> Iterator[tuple[int, int]]:
    """Runs of URL-safe text holding three or more %XX escapes. Found from the escapes outwards: a regex
    for whole runs tries every position of the blob and is far slower."""
    start = end = -1
    escapes = 0
    for m in _ESCAPE.finditer(data):
        if m.start() <= end:  # the same run continues
            escapes += 1
            continue
        if escapes >= 3 and end - start <= MAX_SEGMENT:
            yield start, end
        start = m.start()
        while start > 0 and data[start - 1] in _URL_SAFE:
            start -= 1
        end = m.end()
        while end < len(data) and data[end] in _URL_SAFE:
            end += 1
        escapes = 1
    if escapes >= 3 and end - start <= MAX_SEGMENT:
        yield start, end


def _decode(kind: str, raw: bytes) -> bytes | None:
    try:
        if kind == "base64":
            if len(raw.rstrip(b"=")) % 4 == 1:
                return None
            return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
        return binascii.unhexlify(raw)
    except (binascii.Error, ValueError):
        return None
