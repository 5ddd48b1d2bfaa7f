"""Runs a detector over a source: each unique blob once, matches grouped into findings by fingerprint."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from secretsweep.core.detect import Detector
from secretsweep.model import BlobId, Finding, Match, Occurrence, Origin
from secretsweep.sources.base import BlobSource, SkipStats, Source

# Below this many bytes, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 48 * 1024 * 1024

Progress = Callable[[int, int], None]  # (blobs done, bytes done)


@dataclass
class ScanResult:
    findings: list[Finding]
    blobs: int = 0
    bytes: int = 0
    duplicates: int = 0
    skipped: SkipStats = field(default_factory=SkipStats)
    timed_out: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    jobs: int = 1
    extra: dict[str, object] = field(default_factory=dict)
    # Blobs with matches, as scanned (the findings store records these).
    hits: list[tuple[BlobId, Origin, list[Match]]] = field(default_factory=list)


@dataclass
class _PartResult:
    hits: list[tuple[BlobId, Origin, list[Match]]]
    origins: list[tuple[BlobId, Origin]]  # later sightings of blobs already scanned in this part
    blobs: int
    bytes: int
    duplicates: int
    skipped: SkipStats
    timed_out: Counter[str]


def _scan_source(source: BlobSource, detector: Detector, progress: Progress | None = None) -> _PartResult:
    seen: set[BlobId] = set()
    with_hits: set[BlobId] = set()
    result = _PartResult([], [], 0, 0, 0, source.stats, Counter())
    versioned = getattr(source, "versions", False)
    for blob, origin in source.blobs():
        if blob.id in seen:
            result.duplicates += 1
            if blob.id in with_hits:
                result.origins.append((blob.id, origin))
            continue
        seen.add(blob.id)
        detection = detector.detect(blob.data, origin.path, versioned=versioned)
        result.blobs += 1
        result.bytes += len(blob.data)
        if detection.timed_out:
            result.timed_out.update(detection.timed_out)
        if detection.matches:
            with_hits.add(blob.id)
            result.hits.append((blob.id, origin, detection.matches))
        if progress is not None:
            progress(result.blobs, result.bytes)
    return result


# Worker processes are forked and find their inputs here, so nothing large is pickled to them.
_FORKED: tuple[Sequence[Source], Detector] | None = None


def _scan_part(index: int) -> _PartResult:
    assert _FORKED is not None
    parts, detector = _FORKED
    return _scan_source(parts[index], detector)


def run(source: Source, detector: Detector, *, jobs: int | None = None, size_hint: int | None = None,
        progress: Progress | None = None, parts_per_job: int = 8) -> ScanResult:
    """Scan every blob of `source`. Uses worker processes when there is enough to scan to pay for them
    (`size_hint` bytes, when known)."""
    started = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    parallel = jobs > 1 and (size_hint is None or size_hint >= PARALLEL_MIN_BYTES)
    parts: list[_PartResult]
    if parallel:
        parts = _run_parallel(source, detector, jobs, progress, parts_per_job)
    else:
        jobs = 1
        parts = [_scan_source(source, detector, progress)]
    result = _merge(parts, source.stats)
    result.jobs = jobs
    result.elapsed = time.perf_counter() - started
    return result


def _run_parallel(source: Source, detector: Detector, jobs: int, progress: Progress | None,
                  parts_per_job: int) -> list[_PartResult]:
    import multiprocessing  # only large scans pay for importing it

    global _FORKED
    pieces = source.partition(jobs * parts_per_job)
    _FORKED = (pieces, detector)
    results: list[_PartResult] = []
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            blobs = size = 0
            for part in pool.imap_unordered(_scan_part, range(len(pieces))):
                results.append(part)
                blobs += part.blobs
                size += part.bytes
                if progress is not None:
                    progress(blobs, size)
    finally:
        _FORKED = None
    return results


def _merge(parts: list[_PartResult], stats: SkipStats) -> ScanResult:
    by_fp: dict[str, list[tuple[Match, Occurrence]]] = {}
    hit_matches: dict[BlobId, list[Match]] = {}
    result = ScanResult(findings=[])
    for part in parts:
        result.blobs += part.blobs
        result.bytes += part.bytes
        result.duplicates += part.duplicates
        result.timed_out.update(part.timed_out)
        if part.skipped is not stats:
            stats.merge(part.skipped)
        result.hits.extend(part.hits)
        for bid, origin, matches in part.hits:
            hit_matches[bid] = matches
            for m in matches:
                by_fp.setdefault(m.fingerprint, []).append((m, _occurrence(bid, origin, m)))
        for bid, origin in part.origins:
            for m in hit_matches.get(bid, ()):
                by_fp[m.fingerprint].append((m, _occurrence(bid, origin, m)))
    result.skipped = stats
    result.findings = [group_finding(items) for items in by_fp.values()]
    result.findings.sort(key=lambda f: (f.first.origin.path, f.first.line, f.rule_id))
    return result


def _occurrence(bid: BlobId, origin: Origin, m: Match) -> Occurrence:
    return Occurrence(bid, m.start, m.end, m.line, m.column, origin, m.preview, m.allowed_by)


def group_finding(items: list[tuple[Match, Occurrence]]) -> Finding:
    """One finding from every (match, occurrence) of the same fingerprint, earliest location first."""
    items.sort(key=lambda mo: (mo[1].origin.date or "", mo[1].origin.path, mo[1].line, mo[1].column))
    first = items[0][0]
    return Finding(
        fingerprint=first.fingerprint,
        rule_id=first.rule_id,
        redacted=first.redacted,
        preview=first.preview,
        severity=first.severity,
        confidence=first.confidence,
        occurrences=tuple(o for _, o in items),
        secret=first.secret,
    )
