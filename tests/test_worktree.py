"""The working-tree source on real folders: ignore rules, and every kind of unreadable input skipped and counted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secretsweep.sources import base
from secretsweep.sources.worktree import WorktreeSource
from tests.conftest import fake_aws_key_id, git


def _tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


@pytest.mark.parametrize("as_git", [True, False])
def test_gitignore_is_respected_nested_and_at_root(tmp_path, as_git):
    _tree(tmp_path, {
        ".gitignore": "*.log\nbuild/\n",
        "app/.gitignore": "local.cfg\n",
        "app/main.py": "x = 1\n",
        "app/local.cfg": "secret\n",
        "debug.log": "x\n",
        "build/out.txt": "x\n",
        "keep.txt": "x\n",
    })
    if as_git:
        git(tmp_path, "init", "-q")
    paths = set(WorktreeSource(tmp_path, use_git=as_git).paths())
    assert paths == {".gitignore", "app/.gitignore", "app/main.py", "keep.txt"}


def test_secretsweepignore_and_exclude(tmp_path):
    _tree(tmp_path, {".secretsweepignore": "# fixtures\nfixtures/\n", "fixtures/a.txt": "x", "b.txt": "x",
                     "c.md": "x"})
    src = WorktreeSource(tmp_path, exclude=["*.md"], use_git=False)
    assert set(src.paths()) == {".secretsweepignore", "b.txt"}
    assert src.stats.counts[base.IGNORED_PATH] == 2


def test_skips_are_counted_by_reason(tmp_path):
    _tree(tmp_path, {"ok.txt": "hello\n", "bin.dat": b"\x00\x01binary", "big.txt": "a" * 5000,
                     "lfs.bin": "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"})
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "outside").symlink_to("/etc/hostname")
    src = WorktreeSource(tmp_path, max_size=1000, use_git=False)
    scanned = [origin.path for _, origin in src.blobs()]
    assert scanned == ["ok.txt"]
    assert src.stats.counts == {base.BINARY: 1, base.TOO_LARGE: 1, base.LFS_POINTER: 1, base.SPECIAL: 1,
                                base.SYMLINK: 2}


def test_vanished_file_is_counted(tmp_path):
    _tree(tmp_path, {"a.txt": "x\n", "gone.txt": "y\n"})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    (tmp_path / "gone.txt").unlink()  # still in the index, no longer on disk
    src = WorktreeSource(tmp_path)
    assert [o.path for _, o in src.blobs()] == ["a.txt"]
    assert src.stats.counts[base.VANISHED] == 1


def test_unreadable_file_is_counted(tmp_path, monkeypatch):
    _tree(tmp_path, {"a.txt": "x\n", "locked.txt": "y\n"})
    real_open = os.open

    def deny(path, flags, *args):  # root reads everything, so refuse the read the way the kernel would
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    src = WorktreeSource(tmp_path, use_git=False)
    assert [o.path for _, o in src.blobs()] == ["a.txt"]
    assert src.stats.counts[base.UNREADABLE] == 1


def test_single_file_and_invalid_utf8_name(tmp_path):
    name = os.fsdecode(b"bad-\xff-name.py")
    (tmp_path / name).write_text(f"key = '{fake_aws_key_id(1)}'\n")
    blobs = list(WorktreeSource(tmp_path, use_git=False).blobs())
    assert len(blobs) == 1
    single = list(WorktreeSource(tmp_path / name).blobs())
    assert single[0][0].id == blobs[0][0].id


def test_blob_id_equals_gits(tmp_path):
    _tree(tmp_path, {"a.txt": "hello secretsweep\n"})
    git(tmp_path, "init", "-q")
    expected = git(tmp_path, "hash-object", "a.txt").strip()
    ((blob, _),) = list(WorktreeSource(tmp_path).blobs())
    assert blob.id == expected


def test_partition_covers_every_file_once(tmp_path):
    _tree(tmp_path, {f"f{i}.txt": "x" for i in range(23)})
    src = WorktreeSource(tmp_path, use_git=False)
    parts = src.partition(4)
    listed = [p for part in parts for p in part.paths()]
    assert sorted(listed) == sorted(src.paths())


def test_file_growing_past_the_cap_during_the_scan(tmp_path, monkeypatch):
    (tmp_path / "grows.log").write_text("x" * 5000)
    real_lstat = os.lstat

    def stale_lstat(path, *args, **kwargs):  # the size seen before the file grew
        st = real_lstat(path, *args, **kwargs)
        if str(path).endswith("grows.log"):
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                                   st.st_atime, st.st_mtime, st.st_ctime))
        return st

    monkeypatch.setattr(os, "lstat", stale_lstat)
    src = WorktreeSource(tmp_path, max_size=1000, use_git=False)
    assert list(src.blobs()) == []
    assert src.stats.counts[base.TOO_LARGE] == 1
