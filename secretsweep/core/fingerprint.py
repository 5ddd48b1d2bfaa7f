"""Identity and redaction of secrets: the only forms in which a secret ever leaves memory."""

from __future__ import annotations

import hashlib

FINGERPRINT_VERSION = "v1"
_PREVIEW_WIDTH = 160


def fingerprint(rule_id: str, secret: bytes) -> str:
    """A stable id for one secret under one rule; no path or line, so moved code keeps its id."""
    digest = hashlib.sha256(b"secretsweep\0" + rule_id.encode() + b"\0" + secret).hexdigest()
    return f"{FINGERPRINT_VERSION}:{digest[:40]}"


def mask(secret: bytes) -> str:
    """A short prefix and the length, e.g. 'AKIA…(20)'; never more than a quarter of the secret."""
    text = secret.decode("utf-8", "replace")
    shown = min(4, len(text) // 4)
    return f"{text[:shown]}…({len(text)})"


def masked_line(data: bytes, start: int, end: int, redacted: str) -> str:
    """The line holding data[start:end], the secret replaced by its redacted form, cut to a sane width."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    if line_end == -1:
        line_end = len(data)
    # A secret spanning lines (a PEM block) shows only its first line's context.
    first_end = data.find(b"\n", start, end)
    before = data[max(line_start, start - _PREVIEW_WIDTH) : start].decode("utf-8", "replace")
    after_from = end if first_end == -1 else line_end
    after = data[after_from : min(line_end, after_from + _PREVIEW_WIDTH)].decode("utf-8", "replace")
    if first_end != -1:
        after = ""
    text = (before + redacted + after).replace("\t", " ").replace("\r", "")
    if not text.isprintable():  # rare: checked whole first, as a history locates thousands of matches
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text.strip()
