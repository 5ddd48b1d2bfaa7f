"""The values every layer shares: rules, blobs, matches, findings and decisions.

Anything that may hold a plaintext secret keeps it out of `repr`, so a stray log line or
assertion message cannot print it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NewType

BlobId = NewType("BlobId", str)

# The team's decisions file: it holds fingerprints and secret-manager names, never a secret, so scans skip it.
BASELINE_FILE = ".secretsweep-baseline.json"


def blob_id(data: bytes) -> BlobId:
    """Git's own object id for a blob with these bytes, so history and working tree agree."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return BlobId(h.hexdigest())


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _CONFIDENCE_RANK[self]


_CONFIDENCE_RANK = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}


class Status(StrEnum):
    CONFIRMED = "confirmed"  # a real secret, still to remediate: reported until migrated
    FALSE_POSITIVE = "false_positive"
    IGNORED = "ignored"  # accepted for a stated reason
    MIGRATED = "migrated"  # moved to a secret manager; the code now reads it from there
    UNREVIEWED = "unreviewed"  # known (baseline create/update) but nobody has decided yet

    @property
    def reported(self) -> bool:
        """Whether a scan against the baseline still reports a finding with this decision."""
        return self is Status.CONFIRMED


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[rule]]` table of a `patterns/<family>.toml` file."""

    id: str
    name: str
    pattern: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    min_entropy: float | None = None
    severity: Severity = Severity.HIGH
    confidence: Confidence = Confidence.HIGH
    path: str | None = None
    validator: str | None = None
    hyperscan: bool = True  # False: the pattern is too costly for hyperscan; its keywords prefilter it
    generic: bool = False  # a name-based rule for any vendor: context filters apply, vendor rules win ties
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Blob:
    id: BlobId
    data: bytes = field(repr=False)


OriginKind = Literal["worktree", "staged", "history"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a blob was seen: a path, and in history the commit that first brought it there."""

    kind: OriginKind
    path: str
    commit: str | None = None
    author: str | None = None
    email: str | None = None
    date: str | None = None
    in_head: bool | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One hit of one rule in one blob: the detection core's only output."""

    rule_id: str
    start: int
    end: int
    line: int
    column: int
    secret: bytes = field(repr=False)
    redacted: str
    preview: str
    fingerprint: str
    severity: Severity = Severity.HIGH
    confidence: Confidence = Confidence.HIGH
    allowed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    blob_id: BlobId
    start: int
    end: int
    line: int
    column: int
    origin: Origin
    preview: str = ""
    allowed_by: str | None = None


@dataclass(frozen=True)
class Finding:
    """One secret under one rule, however many places it appears in."""

    fingerprint: str
    rule_id: str
    redacted: str
    preview: str
    severity: Severity
    confidence: Confidence
    occurrences: tuple[Occurrence, ...]
    # Plaintext, kept in memory only for --show-secrets and migration; never repr'd, stored or compared.
    secret: bytes = field(default=b"", repr=False, compare=False)

    @property
    def first(self) -> Occurrence:
        return self.occurrences[0]

    @property
    def allowed(self) -> bool:
        """Every occurrence carries an inline allow marker."""
        return all(o.allowed_by for o in self.occurrences)


@dataclass(frozen=True)
class Decision:
    fingerprint: str
    rule_id: str
    status: Status
    reason: str = ""
    decided_by: str = ""
    decided_at: str = ""
    secret_name: str | None = None
    secret_arn: str | None = None
