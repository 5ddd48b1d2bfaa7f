"""Git history: every blob reachable from the chosen refs, each read once from git's object store.

`git rev-list --objects` names the blobs (with a path each: the first one git meets); worker
processes each keep one `git cat-file --batch` running and stream their share of blobs through it.
Nothing is checked out and no commit is diffed. Provenance (first commit, author, date) is found
afterwards, and only for the blobs that had findings.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Enumeration:
    """The blobs to scan, with the path git first met each at, and counts for the summary."""

    blobs: list[tuple[BlobId, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # objects the history names but the store lacks
    refs: int = 0
    commits: int = 0


def revisions(repo: Repo, branch: Sequence[str] = (), since: str | None = None) -> list[str]:
    """rev-list arguments: every ref (branches, tags, remotes, stash, HEAD), or the named branches,
    and with `since` only what is not reachable from that revision."""
    revs = list(branch) if branch else ["--all"]
    if since:
        revs += ["--not", since]
    return revs


def enumerate_blobs(repo: Repo, branch: Sequence[str] = (), since: str | None = None) -> Enumeration:
    """Every blob reachable from the chosen revisions, once each."""
    result = Enumeration()
    result.refs = len(repo.git("for-each-ref", "--format=%(refname)").splitlines())
    if repo.head is None and not result.refs:
        return result  # an empty repository: nothing to scan
    revs = revisions(repo, branch, since)
    for name in branch:
        if not repo.git("rev-parse", "--verify", "--quiet", name, check=False).strip():
            raise SourceError(f"{name}: no such branch or revision in {repo.path}")
    if since and not repo.git("rev-parse", "--verify", "--quiet", f"{since}^{{commit}}", check=False).strip():
        raise SourceError(f"{since}: no such revision in {repo.path}")
    result.commits = int(repo.git("rev-list", "--count", *revs).strip() or 0)
    out = repo.git("rev-list", "--objects", "--filter=object:type=blob", "--filter-provided-objects",
                   "--missing=print", *revs)
    for line in out.splitlines():
        if line.startswith("?"):
            result.missing.append(line[1:].strip())
            continue
        sha, _, path = line.partition(" ")
        result.blobs.append((BlobId(sha), base.display_path(path)))
    return result


class CatFile:
    """One long-running `git cat-file --batch`, fed from a thread so neither side of the pipe blocks."""

    def __init__(self, git_dir: Path) -> None:
        self.proc = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     bufsize=_READ_CHUNK)

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

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


class HistorySource:
    """Blobs of a repository's history. `paths` gives the path each blob is scanned under."""

    def __init__(self, repo: Repo, blobs: list[tuple[BlobId, str]], *, max_size: int = base.DEFAULT_MAX_SIZE) -> None:
        self.repo = repo
        self.items = blobs
        self.max_size = max_size
        self.stats = SkipStats()

    def blobs(self) -> Iterator[tuple[Blob, Origin]]:
        if not self.items:
            return
        cat = CatFile(self.repo.git_dir)
        try:
            paths = dict(self.items)
            for oid, data, _size in cat.read_all([i for i, _ in self.items], self.max_size, self.stats):
                if data is None:
                    continue
                path = paths[BlobId(oid)]
                if base.looks_binary(data):
                    self.stats.skip(base.BINARY, path)
                    continue
                if base.is_lfs_pointer(data):
                    self.stats.skip(base.LFS_POINTER, path)
                    continue
                yield Blob(BlobId(oid), data), Origin("history", path)
        finally:
            cat.close()

    def partition(self, n: int) -> list[HistorySource]:
        # Contiguous runs, not interleaved ones: neighbouring blobs share delta bases, which each
        # cat-file process then inflates once instead of every process inflating them all.
        size = -(-len(self.items) // n) if self.items else 0
        return [HistorySource(self.repo, self.items[i : i + size], max_size=self.max_size)
                for i in range(0, len(self.items), size or 1)]


# -- provenance -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Introduction:
    """Where a blob entered history: the oldest commit that wrote it at a path."""

    path: str
    commit: str
    author: str
    email: str
    date: str


# Past this many paths, git's pathspec matching costs more than reading every commit's changes once.
_PATHSPEC_LIMIT = 16


def find_introductions(repo: Repo, wanted: Iterable[tuple[BlobId, str]] | None, revs: Sequence[str]) -> dict[
        BlobId, list[Introduction]]:
    """For each wanted blob (every blob when `wanted` is None), every path it was written at with the
    oldest commit that wrote it there.

    One streamed `git log --raw`, oldest first: limited to the blobs' paths when there are few, else over
    every commit (a fixed cost of one pass over the history's changes, whatever the number of findings).
    Merges show their changes against the first parent, which covers stashes and conflict resolutions.
    """
    ids: set[str] | None = None
    pathspec: list[str] = []
    if wanted is not None:
        wanted = list(wanted)
        if not wanted:
            return {}
        ids = {b for b, _ in wanted}
        paths = sorted({p for _, p in wanted if p})
        if len(paths) <= _PATHSPEC_LIMIT:
            pathspec = ["--", *paths]
    argv = ["git", "--git-dir", str(repo.git_dir), "log", *revs, "--reverse", "--raw", "--no-abbrev", "--no-renames",
            "--diff-merges=first-parent", "--format=%x00%H%x00%an%x00%ae%x00%aI", *pathspec]
    found: dict[BlobId, dict[str, Introduction]] = {}
    commit = author = email = date = ""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=_READ_CHUNK) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.startswith(b"\0"):
                _, commit, author, email, date = raw.rstrip(b"\n").decode("utf-8", "replace").split("\0")[:5]
            elif raw.startswith(b":"):
                meta, _, path = raw.rstrip(b"\n").partition(b"\t")
                fields = meta.split()
                if len(fields) < 4 or fields[3] == _NULL_OID:
                    continue
                new = fields[3].decode()
                if ids is None or new in ids:
                    per_path = found.setdefault(BlobId(new), {})
                    p = path.decode("utf-8", "replace")
                    if p not in per_path:
                        per_path[p] = Introduction(p, commit, author, email, date)
    return {b: sorted(v.values(), key=lambda i: (i.date, i.path)) for b, v in found.items()}


_NULL_OID = b"0" * 40


def head_blobs(repo: Repo) -> set[str]:
    """Ids of every blob in HEAD's tree (empty without commits)."""
    if repo.head is None:
        return set()
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", repo.head)
    return {entry.split("\t", 1)[0].split()[2] for entry in out.split("\0") if entry and " blob " in entry}


def submodules(repo: Repo) -> list[str]:
    """Paths of submodules in HEAD (they are not followed)."""
    if repo.head is None:
        return []
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", repo.head)
    return [e.split("\t", 1)[1] for e in out.split("\0") if e and " commit " in e.split("\t", 1)[0]]

