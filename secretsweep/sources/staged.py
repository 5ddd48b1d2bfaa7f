"""What is staged in the index: the blobs a commit would record, and which of their lines it adds.

One `git diff --cached --raw -p -U0` names the staged blobs and the added lines; one `git cat-file
--batch` reads them. Inside a git hook, GIT_DIR and GIT_INDEX_FILE point at the right index.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from secretsweep.errors import SourceError
from secretsweep.model import BASELINE_FILE, Blob, BlobId, Origin
from secretsweep.sources import base
from secretsweep.sources.base import SkipStats
from secretsweep.sources.history import CatFile

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_NULL = "0" * 40


class StagedSource:
    """Blobs staged for the next commit, with the line numbers each adds (None: the whole file is new)."""

    def __init__(self, root: Path, *, max_size: int = base.DEFAULT_MAX_SIZE) -> None:
        self.root = root
        self.max_size = max_size
        self.stats = SkipStats()
        self.entries: list[tuple[BlobId, str]] = []
        self.added: dict[str, set[int] | None] = {}
        self.git_dir, self.top = self._locate()
        self._read_diff()

    def _git(self, *args: str) -> bytes:
        try:
            res = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, timeout=120)
        except OSError as exc:
            raise SourceError(f"cannot run git: {exc.strerror}") from None
        if res.returncode != 0:
            msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"{self.root}: {msg[-1] if msg else 'git failed'}")
        return res.stdout

    def _locate(self) -> tuple[Path, Path]:
        try:
            git_dir, top = self._git("rev-parse", "--absolute-git-dir", "--show-toplevel").decode().split("\n")[:2]
        except (SourceError, ValueError):
            raise SourceError(f"{self.root}: not a git repository (--staged scans the index of one)") from None
        return Path(git_dir), Path(top)

    def _read_diff(self) -> None:
        # Without a commit git compares the index with HEAD, or with nothing on an unborn branch.
        # Renames are followed so that moving a file adds none of its old lines.
        out = self._git("diff", "--cached", "--raw", "-p", "-U0", "--no-color", "--no-ext-diff", "-M",
                        "--no-abbrev", "--diff-filter=ACMRT", "--src-prefix=a/", "--dst-prefix=b/")
        path: str | None = None
        for line in out.split(b"\n"):
            if line.startswith(b":"):
                meta, _, names = line.partition(b"\t")
                name = names.rsplit(b"\t", 1)[-1]  # a rename lists old and new names: keep the new
                fields = meta.split()
                p = name.decode("utf-8", "replace")
                if (len(fields) >= 4 and fields[3].decode() != _NULL and not fields[1].startswith(b"160000")
                        and p.rsplit("/", 1)[-1] != BASELINE_FILE):
                    self.entries.append((BlobId(fields[3].decode()), p))
                    # A file new to the index adds every line.
                    self.added[p] = None if fields[4:5] == [b"A"] else set()
            elif line.startswith(b"+++ "):
                target = line[4:].decode("utf-8", "replace")
                path = target[2:] if target.startswith("b/") else None
            elif path is not None and line.startswith(b"@@"):
                m = _HUNK.match(line)
                lines = self.added.get(path)
                if m and lines is not None:
                    start, count = int(m.group(1)), int(m.group(2) or 1)
                    lines.update(range(start, start + count))

    def adds_line(self, path: str, line: int) -> bool:
        lines = self.added.get(path, set())
        return lines is None or line in lines

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        if not self.entries:
            return
        cat = CatFile(self.git_dir)
        try:
            read = cat.read_all([b for b, _ in self.entries], self.max_size, self.stats)
            for (_, path), (oid, data, _) in zip(self.entries, read, strict=True):
                if data is None:
                    continue
                if base.looks_binary(data):
                    self.stats.skip(base.BINARY, path)
                elif base.is_lfs_pointer(data):
                    self.stats.skip(base.LFS_POINTER, path)
                else:
                    yield Blob(BlobId(oid), data), Origin("staged", path)
        finally:
            cat.close()

    def partition(self, n: int) -> list[StagedSource]:
        return [self]  # a commit is small: one process
