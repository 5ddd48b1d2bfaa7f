"""Scanning batches while they are still being produced, in worker processes that each keep a lane.

A history walk names blobs for minutes; scanning starts with the first batch. Each batch comes with a
lane key and goes to the worker owning that lane while it has any: successive versions of one file
share delta bases, so the worker's `git cat-file` inflates each base once instead of every worker
inflating it. A worker whose lane is empty takes another lane's batch, so both cores stay busy.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from secretsweep.core.detect import Detector
from secretsweep.errors import SecretsweepError
from secretsweep.scan import Progress, ScanResult, _merge, _PartResult, _scan_source
from secretsweep.sources.base import BlobSource, SkipStats

# What opens a batch as a source, in whichever process scans it.
OpenBatch = Callable[[Sequence[Any]], BlobSource]
Batch = tuple[int, Sequence[Any]]  # (lane key, items)

# Worker processes are forked and find the detector and the batch opener here.
_FORKED: tuple[OpenBatch, Detector] | None = None


def run_stream(batches: Iterable[Batch], open_batch: OpenBatch, detector: Detector, *, jobs: int | None = None,
               progress: Progress | None = None, parallel_from: int = 2,
               regroup: Callable[[Any], Any] | None = None, nice: int = 0) -> ScanResult:
    """Scan every batch. Fewer than `parallel_from` batches are scanned in this process: worker
    processes would cost more than they save. `regroup`: once every batch is in, the items still queued
    in each lane are sorted by this key (stably) and cut into batches again. `nice`: added to the
    workers' niceness, so they yield the cores to this process and what it runs (such as a walk naming blobs)."""
    started = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    stream = iter(batches)
    first = [b for _, b in zip(range(parallel_from), stream, strict=False)]
    parts: list[_PartResult] = []
    if jobs > 1 and len(first) >= parallel_from:
        parts = _Lanes(jobs, open_batch, detector, progress, regroup, nice).run(_chain(first, stream))
    else:
        jobs = 1
        for _, items in _chain(first, stream):
            parts.append(_scan_source(open_batch(items), detector))
            if progress is not None:
                progress(sum(p.blobs for p in parts), sum(p.bytes for p in parts))
    result = _merge(parts, SkipStats())
    result.jobs = jobs
    result.elapsed = time.perf_counter() - started
    return result


def _chain(first: list[Batch], rest: Iterator[Batch]) -> Iterator[Batch]:
    yield from first
    yield from rest


def _worker(conn: Any, nice: int) -> None:
    """A worker's life: scan each batch it is sent and send back the result, until told to stop."""
    assert _FORKED is not None
    open_batch, detector = _FORKED
    if nice:
        with contextlib.suppress(AttributeError, OSError):  # no os.nice on Windows
            os.nice(nice)
    while (items := conn.recv()) is not None:
        try:
            conn.send(_scan_source(open_batch(items), detector))
        except Exception as exc:  # handed to the parent, which stops the scan with it
            conn.send(exc)
            return


class _Lanes:
    """Hands batches to workers: the producer thread queues them by lane, the caller's thread sends each
    free worker the next batch of its own lane (or the last of the fullest other lane) and collects results."""

    def __init__(self, jobs: int, open_batch: OpenBatch, detector: Detector, progress: Progress | None,
                 regroup: Callable[[Any], Any] | None = None, nice: int = 0) -> None:
        self.jobs = jobs
        self.nice = nice
        self.open_batch = open_batch
        self.detector = detector
        self.progress = progress
        self.regroup = regroup
        self.lanes: list[deque[Sequence[Any]]] = [deque() for _ in range(jobs)]
        self.ready = threading.Condition()
        self.produced = False
        self.error: BaseException | None = None

    def _produce(self, batches: Iterator[Batch]) -> None:
        try:
            for key, items in batches:
                with self.ready:
                    self.lanes[key % self.jobs].append(items)
                    self.ready.notify()
            if self.regroup is not None:
                self._regroup(self.regroup)
        except BaseException as exc:  # raised again in the caller's thread
            self.error = exc
        finally:
            with self.ready:
                self.produced = True
                self.ready.notify()

    def _regroup(self, key: Callable[[Any], Any]) -> None:
        """Sort what each lane still holds, but its next batch, so the workers go on meanwhile. A history's
        walk names a file's versions months apart; side by side, git inflates their shared delta bases
        once (ansible, a 900 MB lane: git 1.75 -> 1.5 CPU-s, detection 3.55 -> 3.3 s)."""
        for lane in self.lanes:
            with self.ready:
                if len(lane) < 3:
                    continue
                size = max(len(batch) for batch in lane)
                following = [lane.pop() for _ in range(len(lane) - 1)]
            items = sorted((item for batch in reversed(following) for item in batch), key=key)
            with self.ready:
                lane.extend(items[i : i + size] for i in range(0, len(items), size))
                self.ready.notify()

    def _next(self, lane: int) -> Sequence[Any] | None:
        """The next batch for the worker owning `lane`; None when there is none yet (or any more)."""
        with self.ready:
            if self.lanes[lane]:
                return self.lanes[lane].popleft()
            fullest = max(self.lanes, key=len)
            return fullest.pop() if fullest else None

    def run(self, batches: Iterator[Batch]) -> list[_PartResult]:
        import multiprocessing
        from multiprocessing.connection import wait

        global _FORKED
        _FORKED = (self.open_batch, self.detector)
        ctx = multiprocessing.get_context("fork")
        conns, procs = [], []
        try:
            for _ in range(self.jobs):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(child, self.nice), daemon=True)
                proc.start()
                child.close()
                conns.append(parent)
                procs.append(proc)
        finally:
            _FORKED = None
        producer = threading.Thread(target=self._produce, args=(batches,), daemon=True)
        producer.start()
        results: list[_PartResult] = []
        busy: set[int] = set()
        blobs = size = 0
        try:
            while True:
                for lane in set(range(self.jobs)) - busy:
                    items = self._next(lane)
                    if items is not None:
                        conns[lane].send(items)
                        busy.add(lane)
                if self.error is not None:
                    raise self.error
                if not busy:
                    with self.ready:
                        if self.produced and not any(self.lanes):
                            break
                        self.ready.wait(0.05)
                    continue
                for conn in wait([conns[i] for i in busy], timeout=0.05):
                    lane = conns.index(conn)  # type: ignore[arg-type]
                    try:
                        part = conn.recv()  # type: ignore[union-attr]
                    except (EOFError, OSError):
                        raise SecretsweepError("a scanning process stopped unexpectedly (killed, or out of memory?)",
                                               exit_code=70) from None
                    busy.discard(lane)
                    if isinstance(part, BaseException):
                        raise part
                    results.append(part)
                    blobs, size = blobs + part.blobs, size + part.bytes
                    if self.progress is not None:
                        self.progress(blobs, size)
            for conn in conns:
                conn.send(None)
            for proc in procs:
                proc.join()
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            producer.join(timeout=1)
        return results
