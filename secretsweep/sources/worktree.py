"""The working tree: every file under a folder that git would not ignore, read from disk.

Inside a git work tree, git itself lists the files (exact .gitignore semantics, fast);
elsewhere the folder is walked with nested .gitignore files applied through pathspec.
`.secretsweepignore` (gitignore syntax, at the scan root) is applied on top in both cases.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from secretsweep.errors import UsageError
from secretsweep.model import BASELINE_FILE, Blob, Origin, blob_id
from secretsweep.sources import base
from secretsweep.sources.base import SkipStats

IGNORE_FILE = ".secretsweepignore"


def ignore_lines(root: Path, extra: Sequence[str] = ()) -> list[str]:
    """The patterns of the `.secretsweepignore` at `root` plus any --exclude patterns."""
    lines: list[str] = list(extra)
    try:
        lines += (root / IGNORE_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        pass
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


class WorktreeSource:
    """Files under `root` (or `root` itself when it is a file)."""

    def __init__(self, root: Path, *, max_size: int = base.DEFAULT_MAX_SIZE, exclude: Sequence[str] = (),
                 paths: list[str] | None = None, use_git: bool = True) -> None:
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"{root}: no such file or directory")
        self.root = root
        self.max_size = max_size
        self.exclude = tuple(exclude)
        self.stats = SkipStats()
        self._paths = paths
        self._use_git = use_git

    # -- listing ----------------------------------------------------------------------------------
    def paths(self) -> list[str]:
        """Root-relative paths ('/'-separated) of the files to read, ignore rules applied."""
        if self._paths is None:
            if not self.root.is_dir():
                self._paths = [""]
            else:
                patterns = ignore_lines(self.root, self.exclude)
                listed = self._git_paths(patterns) if self._use_git else None
                if listed is None:
                    listed = list(self._walk())
                    if patterns:
                        import pathspec

                        listed = self._drop(listed, pathspec.GitIgnoreSpec.from_lines(patterns).match_file)
                self._paths = [p for p in listed if p.rsplit("/", 1)[-1] != BASELINE_FILE]
        return self._paths

    def _drop(self, paths: list[str], ignored: Callable[[str], bool]) -> list[str]:
        """`paths` without the ignored ones, which are counted."""
        kept = []
        for p in paths:
            if ignored(p):
                self.stats.skip(base.IGNORED_PATH, p)
            else:
                kept.append(p)
        return kept

    def _git(self, *args: str) -> list[str]:
        out = subprocess.run(["git", "-C", str(self.root), "ls-files", "-z", "--deduplicate", *args],
                             capture_output=True, check=True, timeout=300).stdout
        return [os.fsdecode(p) for p in out.split(b"\0") if p]

    def _git_paths(self, patterns: list[str]) -> list[str] | None:
        """Git's own listing; our ignore patterns go through git too (same gitignore semantics)."""
        try:
            listed = self._git("--cached", "--others", "--exclude-standard")
            if not patterns:
                return listed
            excludes = [f"--exclude={p}" for p in patterns]
            ignored = set(self._git("--cached", "--others", "--ignored", *excludes))
        except (OSError, subprocess.SubprocessError):
            return None  # not a work tree, or no git: walk the folder ourselves
        return self._drop(listed, ignored.__contains__)

    def _walk(self) -> Iterator[str]:
        import pathspec

        # Stack of (folder prefix, spec) for every .gitignore between the root and the current folder.
        specs: list[tuple[str, pathspec.PathSpec]] = []
        root = str(self.root)

        def ignored(rel: str, is_dir: bool) -> bool:
            probe = rel + "/" if is_dir else rel
            return any(probe.startswith(pre) and spec.match_file(probe[len(pre):]) for pre, spec in specs)

        for folder, dirs, files in os.walk(root, onerror=lambda e: self.stats.skip(base.UNREADABLE,
                                                                                  _rel(root, e.filename))):
            rel_folder = _rel(root, folder)
            prefix = rel_folder + "/" if rel_folder else ""
            specs[:] = [(pre, s) for pre, s in specs if prefix.startswith(pre)]
            if ".gitignore" in files:
                try:
                    with open(os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace") as f:
                        specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(f)))
                except OSError:
                    pass
            for d in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                self.stats.skip(base.SYMLINK, prefix + d)  # os.walk lists links to folders; never follow them
                dirs.remove(d)
            dirs[:] = sorted(d for d in dirs if d != ".git" and not ignored(prefix + d, True))
            for name in sorted(files):
                if not ignored(prefix + name, False):
                    yield prefix + name

    # -- reading ----------------------------------------------------------------------------------
    def read(self, rel: str) -> bytes | None:
        """The file's bytes, or None after counting why it was skipped."""
        full = self.root if rel == "" else self.root / rel
        shown = rel or self.root.name
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                self.stats.skip(base.SYMLINK, shown)
                return None
            if not stat.S_ISREG(st.st_mode):
                # Folders listed by git are submodules; anything else is a FIFO, socket or device.
                self.stats.skip(base.SUBMODULE if stat.S_ISDIR(st.st_mode) else base.SPECIAL, shown)
                return None
            if st.st_size > self.max_size:
                self.stats.skip(base.TOO_LARGE, shown)
                return None
            # O_NONBLOCK: a file swapped for a FIFO after the lstat must not hang the scan.
            with os.fdopen(os.open(full, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
                data = f.read(self.max_size + 1)
        except FileNotFoundError:
            self.stats.skip(base.VANISHED, shown)
            return None
        except OSError:
            self.stats.skip(base.UNREADABLE, shown)
            return None
        if len(data) > self.max_size:
            self.stats.skip(base.TOO_LARGE, shown)
            return None
        if base.looks_binary(data):
            self.stats.skip(base.BINARY, shown)
            return None
        if base.is_lfs_pointer(data):
            self.stats.skip(base.LFS_POINTER, shown)
            return None
        return data

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        for rel in self.paths():
            data = self.read(rel)
            if data is not None:
                yield Blob(blob_id(data), data), Origin("worktree", base.display_path(rel or self.root.name))

    def partition(self, n: int) -> list[WorktreeSource]:
        paths = self.paths()
        # Interleave so each part gets a similar mix of large and small files.
        return [
            WorktreeSource(self.root, max_size=self.max_size, exclude=self.exclude, paths=paths[i::n])
            for i in range(n)
            if paths[i::n]
        ]

    def total_size(self) -> int:
        """Bytes of the listed files, for deciding whether worker processes are worth starting."""
        total = 0
        for rel in self.paths():
            try:
                total += os.lstat(self.root / rel if rel else self.root).st_size
            except OSError:
                pass
        return total


def _rel(root: str, path: str | None) -> str:
    if not path:
        return ""
    rel = os.path.relpath(path, root)
    return "" if rel == "." else rel.replace(os.sep, "/")
