"""Git history: every blob reachable from the chosen refs, each read once from git's object store.

One `git log --raw` pass names the blobs: each commit's tree is compared with its first parent's
(object ids only, no content is diffed), and every blob a commit's tree holds that its parent's
lacked at that path is new there. Git streams this as it walks, so scanning starts at once. Worker
processes each keep one `git cat-file --batch` running and read their blobs through it; nothing is
checked out. The pass is kept in a temporary file: after the scan it gives the introducing commit,
author and date of the blobs that had findings, and of no others.
"""

from __future__ import annotations

import bisect
import functools
import mmap
import os
import re
import subprocess
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, cast

from secretsweep.errors import SourceError
from secretsweep.model import Blob, BlobId, Origin
from secretsweep.sources import base
from secretsweep.sources.base import SkipStats

_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Repo:
    """A repository as git sees it: where its objects live and what HEAD is."""

    path: Path               # what the user named
    git_dir: Path
    work_tree: Path | None   # None for bare repositories and mirrors
    head: str | None         # None in a repository without commits
    shallow: bool

    def git(self, *args: str, check: bool = True) -> str:
        return run_git(self.git_dir, *args, check=check)


def run_git(git_dir: Path, *args: str, check: bool = True, input: bytes | None = None) -> str:
    try:
        res = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, input=input,
                             timeout=3600)
    except OSError as exc:
        raise SourceError(f"cannot run git: {exc.strerror}") from None
    if check and res.returncode != 0:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(res.returncode)}")
    return res.stdout.decode("utf-8", "surrogateescape")


def open_repo(path: Path) -> Repo:
    """The repository at `path` (a work tree, a bare repository or a mirror), or a SourceError."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    try:
        res = subprocess.run(["git", "-C", str(path), "rev-parse", "--absolute-git-dir", "--is-bare-repository",
                              "--is-shallow-repository"], capture_output=True, timeout=60)
    except OSError as exc:
        raise SourceError(f"cannot run git: {exc.strerror}") from None
    if res.returncode != 0:
        raise SourceError(f"{path}: not a git repository")
    git_dir_s, bare_s, shallow_s = res.stdout.decode().split("\n")[:3]
    git_dir = Path(git_dir_s)
    work_tree = None
    if bare_s != "true":
        top = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True)
        work_tree = Path(top.stdout.decode().strip()) if top.returncode == 0 else None
    head_res = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "--quiet", "HEAD"],
                              capture_output=True)
    head = head_res.stdout.decode().strip() or None
    return Repo(path, git_dir, work_tree, head, shallow_s == "true")


def revisions(branch: Sequence[str] = (), since: str | None = None) -> list[str]:
    """Revision arguments: every ref (branches, tags, remotes, stash, HEAD), or the named branches,
    and with `since` only what is not reachable from that revision."""
    revs = list(branch) if branch else ["--all"]
    if since:
        revs += ["--not", since]
    return revs


@dataclass(frozen=True)
class Introduction:
    """Where a blob entered history: the oldest commit that wrote it at a path."""

    path: str
    commit: str
    author: str
    email: str
    date: str


# One record of `git log --raw -z` in the format below: a commit, or a change naming a blob.
_RECORD = re.compile(
    rb"\x01(?P<commit>[0-9a-f]{40,64})\0(?P<author>[^\0]*)\0(?P<email>[^\0]*)\0(?P<date>[^\0]*)\0"
    rb"(?P<committed>-?[0-9]*)\0"
    rb"|:[0-7]{6} (?P<mode>[0-7]{6}) [0-9a-f]{40,64} (?P<blob>[0-9a-f]{40,64}) [A-Z][0-9]*\0(?P<path>[^\0]*)\0")
_LOG_FORMAT = "--format=%x01%H%x00%an%x00%ae%x00%aI%x00%ct"
_GITLINK = b"160000"  # a submodule's commit, not a blob
# A file's versions reach a worker together, so a larger cache of inflated delta bases than git's
# 96 MiB saves re-inflating them (ansible: 12% less cat-file CPU at 160 MiB, none more at 512 MiB).
_DELTA_CACHE = "160m"
# git log flushes after every commit. Reading each write as it lands costs both processes a wakeup per
# commit (ansible: 30,000 reads of 1.6 kB, 1 s of our CPU and 1 s of git's); when a read brings little,
# waiting a moment lets the (widened) pipe fill. git never waits on us: 5 ms is ~80 kB of its output.
_SMALL_READ = 64 << 10
_NAP_S = 0.005


class HistoryLog:
    """The blobs of a repository's history, from one streamed `git log --raw` pass kept on disk.

    Induction on first parents shows the pass is complete: a blob at a path in a commit's tree is
    either at that path in its first parent's tree, or listed as that commit's change (a root
    commit lists its whole tree). Refs naming a tree or blob directly are listed by `rev-list`.
    """

    def __init__(self, repo: Repo, branch: Sequence[str] = (), since: str | None = None) -> None:
        self.repo = repo
        self.revs = revisions(branch, since)
        for name in branch:
            if not repo.git("rev-parse", "--verify", "--quiet", name, check=False).strip():
                raise SourceError(f"{name}: no such branch or revision in {repo.path}")
        if since and not repo.git("rev-parse", "--verify", "--quiet", f"{since}^{{commit}}", check=False).strip():
            raise SourceError(f"{since}: no such revision in {repo.path}")
        refs = [line.split(" ") for line in
                repo.git("for-each-ref", "--format=%(objecttype) %(*objecttype) %(objectname)").splitlines()]
        self.refs = len(refs)
        # git log walks commits only; a tag of a tree or blob is listed apart (with every ref only).
        self._other_refs = [] if branch else [r[2] for r in refs if "commit" not in r[:2]]
        self._kept: IO[bytes] | None = None
        self._commits = array("q")  # where each commit's record starts in the kept pass
        # Each change record's blob id as its hash (this process's; the set of blobs seen has just made
        # it), and where the record starts: which records name a blob with findings is then a look
        # through two arrays rather than through the pass (ansible, 2,888 blobs: 0.33 -> 0.085 s).
        self._keys = array("q")
        self._changes = array("q")
        self.missing: list[str] = []  # objects the history names but the store lacks
        self.walk_error: str | None = None  # why git log stopped early, when it did
        self._counted: int | None = None  # commits, counted apart when git log stopped early
        self._proc: subprocess.Popen[bytes] | None = None
        self._err: IO[bytes] | None = None

    @property
    def commits(self) -> int:
        return self._counted if self._counted is not None else len(self._commits)

    def blobs(self) -> Iterator[tuple[BlobId, str]]:
        """(blob id, a path it was written at) for each blob once, as git walks (newest first)."""
        if self.repo.head is None and not self.refs:
            return  # an empty repository
        seen: set[bytes] = set()
        self._kept = tempfile.TemporaryFile(prefix="secretsweep-log-")
        try:
            for named in _new_blobs(self._stream(self._kept), seen, self._commits, self._keys, self._changes):
                yield from named
        except SourceError as exc:
            # git log stops at a tree it cannot read; rev-list steps over missing objects and names them.
            self.walk_error = str(exc)
            self._counted = int(self.repo.git("rev-list", "--count", *self.revs).strip() or 0)
            yield from self._listed(self.revs, seen)
            self.missing = [line[1:] for line in self.repo.git(
                "rev-list", "--objects", "--missing=print", "--no-object-names", *self.revs).splitlines()
                if line.startswith("?")]
        if self._other_refs:
            yield from self._listed(self._other_refs, seen)

    def _listed(self, revs: Sequence[str], seen: set[bytes]) -> Iterator[tuple[BlobId, str]]:
        """Blobs `git rev-list` finds from `revs` that are not in `seen` yet."""
        out = self.repo.git("rev-list", "--objects", "--filter=object:type=blob", "--filter-provided-objects",
                            "--missing=allow-any", *revs)
        for line in out.splitlines():
            sha, _, path = line.partition(" ")
            if sha.encode() not in seen:
                seen.add(sha.encode())
                yield BlobId(sha), base.display_path(path)

    def start(self) -> None:
        """Start git's walk now rather than when `blobs` is first drawn from: git reads the refs and its
        first commits meanwhile."""
        if self._proc is None and (self.repo.head is not None or self.refs):
            # git's own order (newest first as it walks, streamed at once): ordering every commit first
            # (--date-order) kept the first blob back 0.8 s on ansible, with a core idle meanwhile.
            argv = ["git", "--git-dir", str(self.repo.git_dir), "-c", "log.showRoot=true", "log", *self.revs,
                    "--raw", "-z", "--no-abbrev", "--no-renames", "--no-relative",
                    "--no-show-signature", "--diff-merges=first-parent", _LOG_FORMAT]
            self._err = tempfile.TemporaryFile()
            try:
                self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._err)
            except OSError as exc:
                raise SourceError(f"cannot run git: {exc.strerror}") from None

    def _stream(self, keep: IO[bytes]) -> Iterator[bytes]:
        """The log's output in chunks, each also written to `keep`; a SourceError if git fails."""
        self.start()
        proc, err = self._proc, self._err
        assert proc is not None and proc.stdout is not None and err is not None
        _widen_pipe(proc.stdout)
        with proc:
            while chunk := proc.stdout.read1(_READ_CHUNK):
                keep.write(chunk)
                yield chunk
                if len(chunk) < _SMALL_READ:
                    time.sleep(_NAP_S)
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"git log failed: {lines[-1] if lines else 'exit ' + str(proc.returncode)}")

    def introductions(self, wanted: Iterable[BlobId]) -> dict[BlobId, list[Introduction]]:
        """For each wanted blob, every path it was written at with the oldest commit that wrote it there,
        read back from the pass `blobs` made (a merge counts as its change against its first parent)."""
        ids = {b.encode() for b in wanted}
        kept = self._kept
        if not ids or kept is None or not self._commits:
            return {}
        kept.flush()
        found: dict[bytes, dict[bytes, list[int]]] = {}  # blob -> path -> the commits writing it there first
        keys = {_key(b) for b in ids}
        with mmap.mmap(kept.fileno(), 0, access=mmap.ACCESS_READ) as buf:

            @functools.cache
            def when(commit: int) -> int:
                return int(_RECORD.match(buf, commit)["committed"] or 0)  # type: ignore[index]

            for key, at in zip(self._keys, self._changes, strict=True):
                if key not in keys:
                    continue
                entry = _RECORD.match(buf, at)
                if entry is None or entry["blob"] not in ids:  # another blob with the same hash
                    continue
                commit = self._commits[bisect.bisect_right(self._commits, at) - 1]
                per_path = found.setdefault(entry["blob"], {})
                # The first committed (as git's own order had it): git walks newest first, but a skewed
                # clock can reorder.
                held = per_path.get(entry["path"])
                if held is None or when(commit) < when(held[0]):
                    per_path[entry["path"]] = [commit]
                elif when(commit) == when(held[0]) and commit not in held:
                    held.append(commit)
            first = self._first_of_equals(buf, [c for per_path in found.values() for held in per_path.values()
                                                for c in held if len(held) > 1])
            return {BlobId(b.decode()): sorted((_introduction(p, _RECORD.match(buf, min(held, key=first)))
                                                for p, held in per_path.items()), key=lambda i: (i.date, i.path))
                    for b, per_path in found.items()}

    def _first_of_equals(self, buf: mmap.mmap, tied: list[int]) -> Callable[[int], tuple[bool, int]]:
        """How commits of one commit time rank, first first: one that wrote a blob before a merge that only brought
        it from its other parent (a side branch's tip may come first in git's walk), else the later in the
        walk (within a line of history, the nearer the root)."""
        merges: set[bytes] = set()
        if tied:
            listed = "\n".join(_RECORD.match(buf, c)["commit"].decode() for c in set(tied))  # type: ignore[index]
            merges = set(run_git(self.repo.git_dir, "rev-list", "--no-walk", "--merges", "--stdin",
                                 input=listed.encode()).encode().split())
        return lambda c: (_RECORD.match(buf, c)["commit"] in merges, -c)  # type: ignore[index]

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # a walk left unread, when the scan stopped early
            self._proc.wait()
        if self._err is not None:
            self._err.close()
        if self._kept is not None:
            self._kept.close()
            self._kept = None


def _new_blobs(chunks: Iterable[bytes], seen: set[bytes], commits: array[int], keys: array[int],
               changes: array[int]) -> Iterator[list[tuple[BlobId, str]]]:
    """The blobs (id and path) that the change records of `git log --raw -z` output (the format above)
    name and `seen` lacks, added to it, a list per chunk of output; noting where each commit and change
    record starts, and each change's blob id hash. The output is split at NULs rather than matched by
    `_RECORD` (ansible's 47 MB: 0.8 s instead of 1.2 s): every field but a path has a fixed place."""
    rest = b""
    offset = 0  # of rest's first byte
    new = stop = 0  # where the new blob id starts and ends in a change's first field, once known
    key, add, key_of, commit_at, change_at = _key, seen.add, keys.append, commits.append, changes.append
    for chunk in chunks:
        named: list[tuple[str, str]] = []
        fields = (rest + chunk).split(b"\0")
        rest = fields.pop()  # not ended by a NUL yet
        count, i, at = len(fields), 0, offset
        while i < count:
            field = fields[i]
            lead = field[:1]
            newline = 0
            if lead == b"\n" and field[1:2] == b":":  # the first change after a commit's fields
                field, lead, newline = field[1:], b":", 1
            if lead == b":" and new:  # ":<mode> <mode> <old id> <new id> <status>", then the path
                if i + 1 == count:
                    break
                blob, path = field[new:stop], fields[i + 1]
                key_of(key(blob))
                change_at(at + newline)
                if blob not in seen and field[8:14] != _GITLINK and blob.strip(b"0"):
                    add(blob)
                    named.append((blob.decode(), _path(path)))
                at, i = at + newline + len(field) + len(path) + 2, i + 2
            elif lead == b"\x01":  # a commit: "\x01<id>", author, email, date, commit time
                if i + 5 > count:
                    break
                commit_at(at)
                if not new:
                    new = len(field) + 15
                    stop = 2 * new - 16
                at += len(field) + len(fields[i + 1]) + len(fields[i + 2]) + len(fields[i + 3]) + len(fields[i + 4]) + 5
                i += 5
            else:
                at, i = at + len(field) + 1, i + 1
        if i < count:  # a record cut short: its fields again with the next chunk
            rest = b"\0".join(fields[i:]) + b"\0" + rest
        offset = at
        yield cast(list[tuple[BlobId, str]], named)


def _key(blob: bytes) -> int:
    """A blob id's hash, which bytes keep: the walk's set of blobs seen then uses it again."""
    return hash(blob)


def _path(raw: bytes) -> str:
    """A path as reports and the store hold it (what `base.display_path` makes of git's text)."""
    return raw.decode("utf-8", "replace")


def _introduction(path: bytes, commit: re.Match[bytes]) -> Introduction:
    fields = (commit[k].decode("utf-8", "replace") for k in ("commit", "author", "email", "date"))
    return Introduction(_path(path), *fields)


class CatFile:
    """One long-running `git cat-file --batch`, fed from a thread so neither side of the pipe blocks."""

    def __init__(self, git_dir: Path) -> None:
        self.proc = subprocess.Popen(["git", "--git-dir", str(git_dir), "-c",
                                      f"core.deltaBaseCacheLimit={_DELTA_CACHE}", "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     bufsize=_READ_CHUNK)
        self.in_step = True
        _widen_pipe(self.proc.stdout)

    def read_all(self, ids: Sequence[str], max_size: int,
                 stats: SkipStats) -> Iterator[tuple[str, bytes | None, int]]:
        """(id, content or None when skipped, size) for each id, in order."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        stdin, out = self.proc.stdin, self.proc.stdout

        def feed() -> None:
            try:
                stdin.write(b"".join(i.encode() + b"\n" for i in ids))
                stdin.flush()
            except (BrokenPipeError, OSError):
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        self.in_step = False  # a batch left unread would put its blobs in front of the next batch's
        for oid in ids:
            header = out.readline()
            if not header:
                raise SourceError("git cat-file stopped unexpectedly; the repository may be corrupt")
            parts = header.split()
            if len(parts) == 2 and parts[1] == b"missing":
                stats.skip(base.MISSING_OBJECT, oid)
                yield oid, None, 0
                continue
            size = int(parts[2])
            if size > max_size:
                remaining = size + 1
                while remaining:
                    remaining -= len(out.read(min(remaining, _READ_CHUNK)))
                stats.skip(base.TOO_LARGE, oid)
                yield oid, None, size
                continue
            data = out.read(size)
            out.read(1)  # the newline after the content
            yield oid, data, size
        writer.join()
        self.in_step = True

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def _widen_pipe(pipe: IO[bytes] | None) -> None:
    """A 1 MiB pipe instead of 64 KiB: reading gigabytes of blobs in fewer, larger reads (Linux only)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _READ_CHUNK)  # type: ignore[union-attr]
    except (ImportError, AttributeError, OSError):
        pass


class CatFilePerProcess:
    """One `git cat-file --batch` per process, started on first use and kept for every batch: a forked
    worker starts its own instead of sharing its parent's pipes."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self._cat: CatFile | None = None
        self._pid = 0

    def get(self) -> CatFile:
        if self._cat is None or self._pid != os.getpid() or not self._cat.in_step:
            self.close()
            self._cat, self._pid = CatFile(self.git_dir), os.getpid()
        return self._cat

    def close(self) -> None:
        if self._cat is not None and self._pid == os.getpid():
            if not self._cat.in_step and self._cat.proc.poll() is None:
                self._cat.proc.kill()
            self._cat.close()
        self._cat = None


class HistorySource:
    """A batch of a history's blobs, each scanned under the path it was given with, read through the
    process's cat-file."""

    versions = True  # a file's versions come one after another, newest first: search each by its changes

    def __init__(self, blobs: list[tuple[BlobId, str]], cat: CatFilePerProcess, *,
                 max_size: int = base.DEFAULT_MAX_SIZE) -> None:
        self.items = blobs
        self.cat = cat
        self.max_size = max_size
        self.stats = SkipStats()

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        origins: dict[str, Origin] = {}  # a batch holds many versions of one file: one Origin for them
        read = self.cat.get().read_all([i for i, _ in self.items], self.max_size, self.stats)
        for (oid, data, _size), (_, path) in zip(read, self.items, strict=True):  # answered in order
            if data is None:
                continue
            if base.looks_binary(data):
                self.stats.skip(base.BINARY, path)
                continue
            if base.is_lfs_pointer(data):
                self.stats.skip(base.LFS_POINTER, path)
                continue
            origin = origins.get(path)
            if origin is None:
                origin = origins[path] = Origin("history", path)
            yield Blob(BlobId(oid), data), origin


@dataclass(frozen=True)
class HeadTree:
    """What HEAD holds: each blob once with the first path it is at, the ids (which secrets are still
    there) and its submodules' paths."""

    files: tuple[tuple[BlobId, str], ...]
    submodules: tuple[str, ...]

    @cached_property
    def blobs(self) -> frozenset[str]:
        return frozenset(b for b, _ in self.files)


def head_tree(repo: Repo) -> HeadTree:
    """HEAD's tree from one listing (empty without commits)."""
    if repo.head is None:
        return HeadTree((), ())
    files: dict[BlobId, str] = {}
    submodules: list[str] = []
    for entry in repo.git("ls-tree", "-r", "-z", "--full-tree", repo.head).split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == "blob":
            files.setdefault(BlobId(fields[2]), base.display_path(path))
        elif len(fields) == 3 and fields[1] == "commit":
            submodules.append(path)
    return HeadTree(tuple(files.items()), tuple(submodules))
