"""The history audit: enumerate a repository's blobs, scan the ones the store has not seen, record
matches and provenance, and return the findings for the blobs in scope."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from secretsweep import scan as scanner
from secretsweep.core.detect import Detector
from secretsweep.errors import StoreError
from secretsweep.model import BlobId, Finding
from secretsweep.scan_stream import run_stream
from secretsweep.sources import history
from secretsweep.sources.base import MISSING_OBJECT, SkipStats
from secretsweep.store import FindingsStore, ProvenanceRow, default_path

# Below this many new blobs, worker processes cost more than they save.
PARALLEL_MIN_BLOBS = 2000
# Blobs handed to a worker at a time: small enough to start scanning at once and to end with both
# cores busy, large enough that passing batches and results costs little.
BATCH_BLOBS = 1000
# The scanning workers (and their cat-files) yield the cores to git's walk: the sooner the walk ends, the
# more of the blobs are still queued when the lanes are sorted by path, so a file's versions come side by
# side for git's delta cache and for searching each version by its changes. (ansible: the walk ends at 6 s
# instead of 11, with 125,000 blobs queued instead of 64,000; 28.5 CPU-s instead of 30, 14.9 s instead of 15.6.)
WORKER_NICE = 10


@dataclass
class AuditResult:
    findings: list[Finding]
    scan: scanner.ScanResult
    refs: int
    commits: int
    unique_blobs: int
    new_blobs: int
    notes: list[str] = field(default_factory=list)
    store_path: Path | None = None


def store_for(repo: history.Repo, explicit: Path | None) -> FindingsStore:
    """The store named on the command line, or `.secretsweep/findings.db` in the work tree (or git dir)."""
    return FindingsStore(explicit or default_path(repo.work_tree or repo.git_dir))


def audit(repo: history.Repo, detector: Detector, store: FindingsStore, *, branch: Sequence[str] = (),
          since: str | None = None, max_size: int, jobs: int | None = None,
          progress: scanner.Progress | None = None, on_total: scanner.Progress | None = None,
          recurse_submodules: bool = False, log: history.HistoryLog | None = None) -> AuditResult:
    """Audit `repo`'s history. `log`: its walk of `branch` and `since`, when the caller started it
    early (git reads the refs and its first commits while the rules load); the audit closes it."""
    started = time.perf_counter()
    notes: list[str] = []
    if store.message:
        notes.append(store.message)
    if repo.shallow:
        notes.append("this is a shallow clone: only the history present locally was scanned")
    head = history.head_tree(repo)
    subs = list(head.submodules)
    if subs and not recurse_submodules:
        notes.append(f"{len(subs)} submodule(s) not followed (--recurse-submodules follows them): "
                     f"{', '.join(subs[:3])}{' ...' if len(subs) > 3 else ''}")
    if not store.use_ruleset(detector.matcher.digest):
        notes.append("the rules changed since the last scan: every blob is scanned again")

    log = log or history.HistoryLog(repo, branch, since)
    reader = history.CatFilePerProcess(repo.git_dir)
    seen = store.seen_blobs()
    in_scope: set[BlobId] = set()
    todo: list[BlobId] = []
    walked = total_given = False  # git's walk has named every blob; the progress total was given
    staged: int | None = None  # the store's row of the new blobs' ids, written once the walk is over, till saved
    lanes = jobs or os.cpu_count() or 1

    def named() -> Iterator[tuple[BlobId, str]]:
        """Every blob once: HEAD's first when the walk covers every ref (the workers start on them at
        once), then the walk's."""
        walk = log.blobs()
        if branch or since:
            yield from walk
            return
        log.start()
        yield from head.files
        yield from ((bid, path) for bid, path in walk if bid not in head.blobs)

    def batches() -> Iterator[tuple[int, list[tuple[BlobId, str]]]]:
        """New blobs in batches as they are named (drawn from a thread while workers scan), one lane per
        path: a file's versions go to one worker, whose cat-file then reuses their delta bases."""
        nonlocal walked, staged
        pending: list[list[tuple[BlobId, str]]] = [[] for _ in range(lanes)]
        for bid, path in named():
            in_scope.add(bid)
            if bid in seen:
                continue
            todo.append(bid)
            lane = zlib.crc32(path.encode("utf-8", "surrogateescape")) % lanes
            pending[lane].append((bid, path))
            if len(pending[lane]) >= BATCH_BLOBS:
                yield lane, pending[lane]
                pending[lane] = []
        yield from ((lane, batch) for lane, batch in enumerate(pending) if batch)
        walked = True
        if len(todo) >= PARALLEL_MIN_BLOBS:  # written while the workers scan, not after; a few are quick anyway
            staged = store.stage_scanned(todo)

    def on_progress(blobs: int, size: int) -> None:
        # The total is known once the walk ends; a growing one would only make the ETA lie.
        nonlocal total_given
        if on_total is not None and walked and not total_given:
            on_total(len(todo), 0)
            total_given = True
        if progress is not None:
            progress(blobs, size)

    def open_batch(items: Sequence[tuple[BlobId, str]]) -> history.HistorySource:
        return history.HistorySource(list(items), reader, max_size=max_size)

    try:
        result = run_stream(batches(), open_batch, detector, jobs=lanes, progress=on_progress,
                            parallel_from=PARALLEL_MIN_BLOBS // BATCH_BLOBS, regroup=_path_of, nice=WORKER_NICE)
        for oid in log.missing:
            result.skipped.skip(MISSING_OBJECT, oid)
        if log.walk_error:
            notes.append(f"{log.walk_error}; the rest was listed without it, so some provenance may be missing")
        skipped_ids = _skipped_missing(result.skipped)
        summary = {"refs": log.refs, "commits": log.commits, "unique_blobs": len(in_scope),
                   "new_blobs": len(todo), "bytes": result.bytes, "skipped": dict(result.skipped.counts)}
        if staged is not None and skipped_ids:  # staged before the scan found them missing
            store.drop_staged(staged)
            staged = None
        unstaged = (b for b in todo if b not in skipped_ids) if staged is None else ()
        # Provenance only for blobs with matches, and only those not yet traced.
        store.save_history(unstaged, result.hits, summary, functools.partial(_provenance, log), head.blobs,
                           staged)
        staged = None
    finally:
        reader.close()
        log.close()
        if staged is not None:  # the scan stopped before its save
            with contextlib.suppress(sqlite3.Error, StoreError):
                store.drop_staged(staged)

    findings = store.load_findings(only_blobs=in_scope)
    if recurse_submodules:
        findings += _submodule_findings(repo, subs, detector, max_size, jobs, notes)
    result.elapsed = time.perf_counter() - started
    return AuditResult(findings, result, log.refs, log.commits, len(in_scope), len(todo), notes, store.path)


def _submodule_findings(repo: history.Repo, subs: list[str], detector: Detector, max_size: int,
                        jobs: int | None, notes: list[str]) -> list[Finding]:
    """Each checked-out submodule audited with its own store; its locations carry the submodule's path."""
    found: list[Finding] = []
    for sub in subs:
        if repo.work_tree is None or not (repo.work_tree / sub / ".git").exists():
            notes.append(f"submodule {sub} is not checked out: not scanned")
            continue
        sub_repo = history.open_repo(repo.work_tree / sub)
        sub_store = store_for(sub_repo, None)
        try:
            inner = audit(sub_repo, detector, sub_store, max_size=max_size, jobs=jobs, recurse_submodules=True)
        finally:
            sub_store.close()
        notes.extend(f"{sub}: {n}" for n in inner.notes)
        for f in inner.findings:
            occ = tuple(replace(o, origin=replace(o.origin, path=f"{sub}/{o.origin.path}")) for o in f.occurrences)
            found.append(replace(f, occurrences=occ))
    return found


def _provenance(log: history.HistoryLog, untraced: list[tuple[BlobId, str]]) -> list[ProvenanceRow]:
    """Rows of the store's `appearances` for blobs with matches: every path each was written at, with the
    commit that first did; a blob the walk did not name (a tag of a blob) keeps the path it was scanned at."""
    intros = log.introductions(b for b, _ in untraced)
    rows: list[ProvenanceRow] = []
    for bid, path in untraced:
        found = intros.get(bid)
        if found:
            rows.extend((bid, i.path, i.commit, i.author, i.email, i.date) for i in found)
        else:
            rows.append((bid, path, None, None, None, None))
    return rows


def _path_of(item: tuple[BlobId, str]) -> str:
    """What a lane's queued blobs are sorted by once the walk is over: a file's versions side by side."""
    return item[1]


def _skipped_missing(stats: SkipStats) -> set[BlobId]:
    """Missing objects are not remembered as scanned: a later fetch may bring them."""
    return {BlobId(p) for p in stats.examples.get(MISSING_OBJECT, [])}
