"""A file's next version in a history, searched by hyperscan only where it differs from the last one.

Successive versions of a file share most of their bytes (in ansible's history more than half of them
are in a stretch the version before holds at the same place from the start or from the end). A hit (where
hyperscan saw a pattern's match end) depends only on the bytes from `margin + 1` before it to two
after it: `margin` bounds every match, `\\b` and `^` look one byte before one, `$` up to two after.
So a hit well inside the start both versions share is the old version's, one well inside the shared
end is the old one's moved by the change in length, and only the hits between are searched for, in
the changed bytes with a margin either side. Together they hold every place a match can end.

Most rules' matches are short; a few span kilobytes (a PEM block, a key in a JSON file). Those widen
the margin only for files holding one of their literals, which the search finds with the rest: a
file with none of them holds no match of theirs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

Hit = tuple[int, int]  # (hyperscan expression id, end offset)
Search = Callable[[bytes | memoryview], list[Hit]]

# Smaller files cost more to compare with their last version than searching them whole (ansible: a
# lane's scanning CPU fell 8% comparing every file, 13-15% comparing those of 32 kB or more).
SMALLEST = 32 << 10
# Shared stretches are measured this coarsely: a closer count costs more comparisons than it saves.
_GRAIN = 512
_FIRST_STEP = 4096


class Versions:
    """The last version of each file seen, up to `budget` bytes of them, with the hits found in it."""

    def __init__(self, margin: int, wide: Mapping[int, int], budget: int) -> None:
        self.margin = margin  # bounds the matches of every rule but the wide ones
        self.wide = wide  # expression id of a wide rule's literal -> how far its matches reach
        self.budget = budget
        self._last: OrderedDict[str, tuple[bytes, list[Hit], int]] = OrderedDict()
        self._bytes = 0

    def hits(self, data: bytes, path: str, search: Search) -> list[Hit]:
        """Every hit `search` would find in `data`, the version of `path` after the last one seen."""
        if len(data) < SMALLEST:
            return search(data)
        last = self._last.pop(path, None)
        if last is None:
            found = search(data)
        else:
            self._bytes -= len(last[0])
            found = self._search_changes(data, *last, search)
        if len(data) <= self.budget:
            self._last[path] = (data, found, self._margin(found, self.margin))
            self._bytes += len(data)
            while self._bytes > self.budget:
                old, _, _ = self._last.popitem(last=False)[1]
                self._bytes -= len(old)
        return found

    def _margin(self, hits: list[Hit], margin: int) -> int:
        """`margin`, or wider where a wide rule's literal is among `hits`."""
        wide = self.wide
        for expr, _ in hits:
            reach = wide.get(expr)
            if reach is not None and reach > margin:
                margin = reach
        return margin

    def _search_changes(self, data: bytes, old: bytes, old_hits: list[Hit], margin: int,
                        search: Search) -> list[Hit]:
        size, old_size = len(data), len(old)
        if size <= 2 * margin:  # the margins would cover it all anyway
            return search(data)
        head = shared_prefix(data, old)
        tail = shared_suffix(data, old, min(size, old_size) - head)
        while True:
            start, stop = max(0, head - margin - 3), min(size, size - tail + margin + 4)
            fresh = search(memoryview(data)[start:stop]) if start or stop < size else search(data)
            wider = self._margin(fresh, margin)
            if wider == margin:
                break
            margin = wider  # the changed bytes brought a wide rule's literal: search again, wider
            if size <= 2 * margin:
                return search(data)
        first, beyond = head - 1, size - tail + margin + 2  # the ends searched afresh: [first, beyond)
        moved = size - old_size
        kept = [hit for hit in old_hits if hit[1] <= head - 2]
        kept += [(expr, end + moved) for expr, end in old_hits if end - margin - 2 >= old_size - tail]
        kept += [(expr, end + start) for expr, end in fresh if first <= end + start < beyond]
        return kept


def shared_prefix(a: bytes, b: bytes) -> int:
    """How many bytes `a` and `b` share at their start, or up to _GRAIN fewer."""
    view = memoryview(b)
    return _shared(lambda lo, hi: a.startswith(view[lo:hi], lo), min(len(a), len(b)))


def shared_suffix(a: bytes, b: bytes, most: int) -> int:
    """How many bytes (at most `most`) `a` and `b` share at their end, or up to _GRAIN fewer."""
    size_a, size_b = len(a), len(b)
    view = memoryview(b)
    return _shared(lambda lo, hi: a.endswith(view[size_b - hi : size_b - lo], 0, size_a - lo), most)


def _shared(alike: Callable[[int, int], bool], most: int) -> int:
    """The longest n <= `most` (or up to _GRAIN less) with `alike(0, n)`, where `alike(lo, hi)` says whether
    the bytes from `lo` to `hi` (counted from the start, or from the end) agree."""
    done, step = 0, _FIRST_STEP
    while True:  # compare ever longer stretches until one differs, then halve that one
        end = min(most, done + step)
        if not alike(done, end):
            break
        if end == most:
            return most
        done, step = end, step * 2
    while end - done > _GRAIN:
        mid = (done + end) // 2
        if alike(done, mid):
            done = mid
        else:
            end = mid
    return done
