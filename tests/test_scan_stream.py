"""Streamed scanning: batches produced while workers scan, each lane kept by one worker, errors surfaced."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

from secretsweep.core.detect import Detector
from secretsweep.errors import SecretsweepError, SourceError
from secretsweep.model import Blob, Origin, blob_id
from secretsweep.rules import load_rules
from secretsweep.scan_stream import run_stream
from secretsweep.sources.base import SkipStats
from tests.conftest import fake_aws_key_id

DETECTOR = Detector([r for r in load_rules() if r.id == "aws.access-key-id"])


class MemorySource:
    def __init__(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.items = items
        self.stats = SkipStats()

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        for path, data in self.items:
            if path == "die":
                os._exit(9)
            if path == "boom":
                raise SourceError("a worker could not read its batch")
            yield Blob(blob_id(data), data), Origin("history", path)


def batches(n: int, lanes: int) -> list[tuple[int, list[tuple[str, bytes]]]]:
    return [(i % lanes, [(f"f{i}.py", f'KEY_{i} = "{fake_aws_key_id(i)}"\n'.encode())]) for i in range(n)]


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_every_batch_is_scanned_once_whatever_the_lanes(jobs):
    # All in one lane: the other workers take from it rather than sit idle.
    result = run_stream(iter(batches(40, 1)), MemorySource, DETECTOR, jobs=jobs, parallel_from=1)
    assert result.blobs == 40 and len(result.findings) == 40
    assert result.jobs == jobs


def test_progress_counts_up_to_the_total():
    seen: list[int] = []
    run_stream(iter(batches(12, 2)), MemorySource, DETECTOR, jobs=2, parallel_from=1,
               progress=lambda blobs, _size: seen.append(blobs))
    assert seen == sorted(seen) and seen[-1] == 12


def test_an_error_while_producing_batches_stops_the_scan():
    def failing() -> Iterator[tuple[int, list[tuple[str, bytes]]]]:
        yield from batches(4, 2)
        raise SourceError("git log failed: fatal: bad object")

    with pytest.raises(SourceError, match="bad object"):
        run_stream(failing(), MemorySource, DETECTOR, jobs=2, parallel_from=1)


def test_an_error_in_a_worker_stops_the_scan():
    work = [*batches(6, 2), (1, [("boom", b"x")])]
    with pytest.raises(SourceError, match="could not read"):
        run_stream(iter(work), MemorySource, DETECTOR, jobs=2, parallel_from=1)


def test_a_worker_that_dies_is_one_clear_error():
    work = [*batches(6, 2), (0, [("die", b"x")])]
    with pytest.raises(SecretsweepError, match="stopped unexpectedly") as caught:
        run_stream(iter(work), MemorySource, DETECTOR, jobs=2, parallel_from=1)
    assert caught.value.exit_code == 70


def test_once_all_batches_are_in_each_lane_is_sorted_but_its_next_batch():
    from secretsweep.scan_stream import _Lanes

    lanes = _Lanes(2, MemorySource, DETECTOR, None, regroup=lambda item: item[0])
    walk = [("b", 1), ("a", 2), ("c", 3), ("a", 4), ("b", 5), ("a", 6), ("c", 7)]
    lanes.lanes[0].extend([walk[:3], walk[3:5], walk[5:], [("z", 8)]])
    lanes.lanes[1].extend([[("y", 9)], [("x", 10)]])  # too few to be worth sorting
    lanes._regroup(lanes.regroup)
    assert list(lanes.lanes[0]) == [walk[:3], [("a", 4), ("a", 6), ("b", 5)], [("c", 7), ("z", 8)]]
    assert list(lanes.lanes[1]) == [[("y", 9)], [("x", 10)]]
    # A worker whose lane is empty takes the fullest lane's last batch, the farthest from its owner's files.
    lanes.lanes[1].clear()
    assert lanes._next(1) == [("c", 7), ("z", 8)]


def test_regrouped_lanes_still_scan_every_batch_once():
    result = run_stream(iter(batches(40, 2)), MemorySource, DETECTOR, jobs=2, parallel_from=1,
                        regroup=lambda item: item[0])
    assert result.blobs == 40 and len(result.findings) == 40


class NicenessSource(MemorySource):
    """Names each blob's path after the scheduling niceness of the process scanning it."""

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        for path, data in self.items:
            yield Blob(blob_id(data), data), Origin("history", f"{path}@{os.nice(0)}")


def test_workers_yield_to_the_process_that_feeds_them():
    before = os.nice(0)
    result = run_stream(iter(batches(6, 2)), NicenessSource, DETECTOR, jobs=2, parallel_from=1, nice=3)
    niceness = {o.origin.path.rpartition("@")[2] for f in result.findings for o in f.occurrences}
    assert niceness == {str(min(19, before + 3))}
    assert os.nice(0) == before  # the caller keeps its own priority
