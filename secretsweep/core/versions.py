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

A change at both ends of a large file (two hunks far apart) leaves a long middle; a stretch of it that
the last version also holds, anywhere, is a third shared part, its hits the old ones moved. Such a
stretch is found by looking for a few bytes from the middle near where the shift at either end puts
them, then measured both ways; the parts either side are looked through the same way.
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
# Middles this long are looked through for stretches the last version holds (ansible, a 900 MB lane: 547
# -> 466 MB searched, its scanning CPU 3.43 -> 3.28 s); at 32 kB the looking cost most of what it saved.
SPLIT_FROM = 64 << 10
# The bytes looked for, and how far from where the shifts at the middle's ends put them.
_PROBE = 256
_SLACK = 4096
# A shared stretch shorter than this saves less searching than a second search call costs.
_SHORTEST_STRETCH = 8192


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
        inner: list[tuple[int, int, int]] = []  # (start, stop, where the last version holds it)
        if size - tail - head >= SPLIT_FROM:
            _shared_inside(data, old, head, size - tail, head, old_size - tail, inner)
            inner.sort()
        moved = size - old_size
        while True:
            # The ends of hits the shared parts keep, each as [from, to) and how far the last version's moved.
            kept_ends = [(0, head - 1, 0)]
            kept_ends += [(start + margin + 2, stop - 1, start - at) for start, stop, at in inner]
            kept_ends.append((size - tail + margin + 2, size + 1, moved))
            fresh: list[Hit] = []
            searched_to = 0  # the ends searched for so far: [0, searched_to)
            for lo, hi, _ in kept_ends:
                if lo >= hi:
                    continue
                if lo > searched_to:  # ends in [searched_to, lo): search with the margin either side
                    start, stop = max(0, searched_to - margin - 2), min(size, lo + 2)
                    view = memoryview(data)[start:stop] if start or stop < size else data
                    fresh += [(expr, end + start) for expr, end in search(view) if searched_to <= end + start < lo]
                searched_to = max(searched_to, hi)
            if searched_to <= size:
                start = max(0, searched_to - margin - 2)
                view = memoryview(data)[start:] if start else data
                fresh += [(expr, end + start) for expr, end in search(view) if searched_to <= end + start]
            wider = self._margin(fresh, margin)
            if wider == margin:
                break
            margin = wider  # the changed bytes brought a wide rule's literal: search again, wider
            if size <= 2 * margin:
                return search(data)
        for lo, hi, shift in kept_ends:
            if lo < hi:
                fresh += [(expr, end + shift) for expr, end in old_hits if lo <= end + shift < hi]
        return fresh


def _shared_inside(data: bytes, old: bytes, lo: int, hi: int, old_lo: int, old_hi: int,
                   found: list[tuple[int, int, int]]) -> None:
    """Stretches of `data[lo:hi]` that `old[old_lo:old_hi]` also holds, added to `found` as (start, stop,
    where in `old`): the bytes at the middle looked for near where the shifts at either end put them, the
    stretch holding them measured, and the parts either side looked through the same way."""
    if hi - lo < SPLIT_FROM or old_hi - old_lo < _PROBE:
        return
    probe = (lo + hi) // 2
    near = sorted((probe + old_lo - lo, probe + old_hi - hi))
    at = old.find(memoryview(data)[probe : probe + _PROBE], max(old_lo, near[0] - _SLACK),
                  min(old_hi, near[1] + _PROBE + _SLACK))
    if at < 0:
        return
    view = memoryview(old)
    after = _shared(lambda a, b: data.startswith(view[at + a : at + b], probe + a), min(hi - probe, old_hi - at))
    before = _shared(lambda a, b: data.endswith(view[at - b : at - a], 0, probe - a), min(probe - lo, at - old_lo))
    start, stop, old_start = probe - before, probe + after, at - before
    if stop - start >= _SHORTEST_STRETCH:
        found.append((start, stop, old_start))
    _shared_inside(data, old, lo, start, old_lo, old_start, found)
    _shared_inside(data, old, stop, hi, old_start + stop - start, old_hi, found)


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
