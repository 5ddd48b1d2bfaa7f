"""What every source shares: the Source protocol and the count of what was skipped, by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from secretsweep.model import Blob, Origin

# Reasons a blob is skipped; the summary prints them in this order.
BINARY = "binary"
TOO_LARGE = "too large"
UNREADABLE = "unreadable"
VANISHED = "vanished"
SPECIAL = "not a regular file"
SYMLINK = "symlink (not followed)"
IGNORED_PATH = "ignored path"
LFS_POINTER = "git-lfs pointer"
MISSING_OBJECT = "missing or corrupt object"
SUBMODULE = "submodule (not followed)"

# Reasons whose every item is kept by name (the summary names each missing object).
_NAME_ALL = frozenset({MISSING_OBJECT})

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
_BINARY_PROBE = 8000


@dataclass
class SkipStats:
    """Skipped items counted by reason, with a few example paths per reason for the summary."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, path: str) -> None:
        self.counts[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3 or reason in _NAME_ALL:
            shown.append(path)

    def merge(self, other: SkipStats) -> None:
        self.counts.update(other.counts)
        for reason, paths in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(paths if reason in _NAME_ALL else paths[: max(0, 3 - len(mine))])

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class BlobSource(Protocol):
    """Something that yields blobs to scan, each with where it was seen, counting what it skips."""

    stats: SkipStats

    def blobs(self) -> Iterator[tuple[Blob, Origin]]: ...


class Source(BlobSource, Protocol):
    """A source that can be split into parts for worker processes."""

    def partition(self, n: int) -> list[Source]:
        """Up to n independent parts whose blobs together are this source's, for worker processes."""
        ...


def display_path(path: str) -> str:
    """A path as reports and the store hold it: bytes that are not UTF-8 shown as U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def looks_binary(data: bytes) -> bool:
    """Git's own test: a NUL byte near the start means binary."""
    return data.find(b"\0", 0, _BINARY_PROBE) != -1


def is_lfs_pointer(data: bytes) -> bool:
    return len(data) < 1024 and data.startswith(b"version https://git-lfs.github.com/spec/")
