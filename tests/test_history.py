"""The history audit on real repositories: every ref, each blob once, provenance, the store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from secretsweep.model import Blob, Origin
from secretsweep.store import FindingsStore
from tests.conftest import fake_aws_key_id, fake_token, git

COMMITS = {  # from sample_repos/webapp.fi
    "initial": ("Alice Example", "alice@example.com", "2023-11-14T22:13:20+00:00"),
    "frontend": ("Bob Builder", "bob@example.com", "2023-11-15T22:13:20+00:00"),
    "deploy": ("Carol Coder", "carol@example.com", "2023-11-17T22:13:20+00:00"),
}


def audit(run_cli, repo: Path, *extra: str) -> dict:
    res = run_cli("scan", "--history", repo, "-f", "json", "-q", *extra)
    assert res.code in (0, 1), res.err
    return json.loads(res.out)


def by_rule(doc: dict) -> dict[str, dict]:
    return {f["rule"]: f for f in doc["findings"]}


def test_every_ref_with_provenance(sample_repo, run_cli):
    repo = sample_repo("webapp")
    doc = audit(run_cli, repo)
    found = by_rule(doc)
    # History-only secrets: the AWS pair was removed in a later commit, the GitHub token lives on a branch.
    key = found["aws.access-key-id"]["locations"]
    assert [(loc["path"], loc["author"], loc["date"], loc["in_head"]) for loc in key] == [
        ("app/settings.py", *COMMITS["initial"][::2], False)]
    assert key[0]["email"] == "alice@example.com"
    token = found["github.token"]["locations"][0]
    assert (token["path"], token["author"], token["in_head"]) == ("scripts/deploy.sh", "Carol Coder", False)
    stripe = found["stripe.secret-key"]["locations"][0]
    assert (stripe["author"], stripe["date"], stripe["in_head"]) == (*COMMITS["frontend"][::2], True)
    assert len(stripe["commit"]) == 40
    summary = doc["summary"]
    assert (summary["refs"], summary["commits"], summary["unique_blobs"]) == (3, 4, 9)


def test_second_scan_reads_only_new_blobs_and_report_rereads(sample_repo, run_cli):
    repo = sample_repo("webapp")
    first = audit(run_cli, repo)
    second = audit(run_cli, repo)
    assert second["summary"]["new_blobs"] == 0 and second["summary"]["blobs"] == 0
    assert second["findings"] == first["findings"]
    (repo / "new.py").write_text(f'KEY = "{fake_aws_key_id(77)}"\n')
    git(repo, "add", "new.py")
    git(repo, "commit", "-qm", "more")
    third = audit(run_cli, repo)
    assert third["summary"]["new_blobs"] == 1
    assert len(third["findings"]) == len(first["findings"]) + 1
    report = run_cli("report", repo, "-f", "json")
    assert report.code == 1
    assert json.loads(report.out)["findings"] == third["findings"]


@pytest.mark.parametrize("kind", ["--bare", "--mirror"])
def test_bare_and_mirror_clones(sample_repo, run_cli, tmp_path, kind):
    repo = sample_repo("webapp")
    clone = tmp_path / "clone.git"
    subprocess.run(["git", "clone", "-q", kind, str(repo), str(clone)], check=True)
    rules = {f["rule"] for f in audit(run_cli, clone)["findings"]}
    assert {"aws.access-key-id", "github.token", "stripe.secret-key"} <= rules
    assert (clone / ".secretsweep" / "findings.db").exists()


def test_branch_and_since_narrow_the_scan(sample_repo, run_cli, tmp_path):
    repo = sample_repo("webapp")
    main_only = by_rule(audit(run_cli, repo, "--branch", "main", "--store", tmp_path / "a.db"))
    assert "github.token" not in main_only and "aws.access-key-id" in main_only
    since = audit(run_cli, repo, "--since", "v1.0", "--store", tmp_path / "b.db")
    assert [f["rule"] for f in since["findings"]] == ["github.token"]
    assert since["summary"]["unique_blobs"] == 1


def test_not_a_repository_and_bad_revision(run_cli, tmp_path, sample_repo):
    res = run_cli("scan", "--history", tmp_path)
    assert res.code == 2 and res.err.count("\n") == 1 and "not a git repository" in res.err
    repo = sample_repo("webapp")
    res = run_cli("scan", "--history", repo, "--since", "nope")
    assert res.code == 2 and "nope" in res.err
    assert run_cli("scan", repo, "--since", "v1.0").code == 2  # --since needs --history


def test_the_walk_started_before_the_rules_load_is_stopped_when_they_fail(run_cli, sample_repo, monkeypatch):
    from secretsweep.sources import history

    started, closed = [], []
    real_start, real_close = history.HistoryLog.start, history.HistoryLog.close
    monkeypatch.setattr(history.HistoryLog, "start", lambda self: started.append(self) or real_start(self))
    monkeypatch.setattr(history.HistoryLog, "close", lambda self: closed.append(self) or real_close(self))
    res = run_cli("scan", "--history", sample_repo("webapp"), "--only-rule", "no.such-rule")
    assert res.code == 2 and res.err.count("\n") == 1
    assert started and set(map(id, closed)) == set(map(id, started))
    assert all(log._proc.poll() is not None for log in started)  # git is not left running


def test_empty_repository(run_cli, tmp_path):
    git(tmp_path, "init", "-q")
    res = run_cli("scan", "--history", tmp_path, "-f", "json")
    assert res.code == 0
    assert json.loads(res.out)["findings"] == []


def test_shallow_clone_is_said(sample_repo, run_cli, tmp_path):
    repo = sample_repo("webapp")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    res = run_cli("scan", "--history", shallow)
    assert "shallow" in res.err
    assert res.code == 1


def test_store_holds_no_plaintext(sample_repo, run_cli):
    repo = sample_repo("webapp")
    secrets = [f["secret"] for f in json.loads(run_cli("scan", repo, "-f", "json", "--show-secrets", "-q").out)[
        "findings"]]
    audit(run_cli, repo)
    raw = b"".join(p.read_bytes() for p in (repo / ".secretsweep").iterdir())
    assert secrets
    for s in secrets:
        assert s.encode() not in raw
    assert (repo / ".secretsweep" / ".gitignore").read_text().strip().endswith("*")
    assert "findings.db" not in git(repo, "status", "--porcelain")


def test_older_store_is_rebuilt_with_a_message(sample_repo, run_cli, tmp_path):
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE findings (x)")
    repo = sample_repo("webapp")
    res = run_cli("scan", "--history", repo, "--store", old)
    assert res.code == 1 and "older version" in res.err
    assert FindingsStore(old).last_summary() is not None


def test_ids_staged_during_a_scan_are_seen_only_once_it_is_saved(tmp_path):
    store = FindingsStore(tmp_path / "s.db")
    staged = store.stage_scanned(["a" * 40, "b" * 40])
    assert staged is not None and store.seen_blobs() == set()  # a running scan's: not seen, not forgotten
    store.save_history(["c" * 40], [], {}, lambda untraced: [], [], staged)
    assert store.seen_blobs() == {"a" * 40, "b" * 40, "c" * 40}
    assert store.db.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0


def test_ids_staged_by_a_scan_that_died_are_forgotten(tmp_path):
    import os
    import sys

    path = tmp_path / "s.db"
    died = subprocess.run([sys.executable, "-c", "import os, sys\nfrom pathlib import Path\n"
                           "from secretsweep.store import FindingsStore\n"
                           f"FindingsStore(Path(sys.argv[1])).stage_scanned(['{'a' * 40}'])\nos._exit(9)", str(path)])
    assert died.returncode == 9
    store = FindingsStore(path)
    live = store.stage_scanned(["b" * 40])  # this process's own: kept
    assert store.db.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 2
    assert store.seen_blobs() == set()
    assert store.db.execute("SELECT scanned_id, pid FROM pending").fetchall() == [(live, os.getpid())]
    assert store.db.execute("SELECT COUNT(*) FROM scanned").fetchone()[0] == 1


def test_a_history_scan_that_fails_before_its_save_leaves_no_ids_behind(sample_repo, run_cli, tmp_path, monkeypatch):
    from secretsweep import history_audit
    from secretsweep.errors import StoreError

    def fail(*_: object, **__: object) -> None:
        raise StoreError("disk full")

    staged: list[int | None] = []
    stage = FindingsStore.stage_scanned
    monkeypatch.setattr(history_audit, "PARALLEL_MIN_BLOBS", 1)  # stage even a sample repository's few blobs
    monkeypatch.setattr(FindingsStore, "stage_scanned", lambda self, ids: staged.append(stage(self, ids)) or staged[-1])
    monkeypatch.setattr(FindingsStore, "save_history", fail)
    store = tmp_path / "s.db"
    res = run_cli("scan", "--history", sample_repo("webapp"), "--store", store)
    assert res.code == 2 and "disk full" in res.err
    assert staged and staged[0] is not None
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM scanned").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0


def test_missing_object_is_skipped_and_named(run_cli, tmp_path):
    (tmp_path / "a.txt").write_text(f"token = {fake_token(30, seed=8)}\n")
    (tmp_path / "b.py").write_text(f'KEY = "{fake_aws_key_id(8)}"\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    blob = git(tmp_path, "rev-parse", "HEAD:a.txt").strip()
    (tmp_path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    res = run_cli("scan", "--history", tmp_path)
    assert res.code == 1  # the other blob is still scanned
    assert "missing or corrupt object" in res.err and blob in res.err
    assert "Traceback" not in res.err


@pytest.mark.parametrize("staged", [False, True])
def test_a_missing_object_is_not_remembered_as_scanned(run_cli, tmp_path, monkeypatch, staged):
    # Staged: the ids were written as the walk ended, before the scan found one missing.
    from secretsweep import history_audit

    if staged:
        monkeypatch.setattr(history_audit, "PARALLEL_MIN_BLOBS", 1)
    (tmp_path / "a.txt").write_text("nothing here\n")
    (tmp_path / "b.txt").write_text("nor here\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    missing, kept = (git(tmp_path, "rev-parse", f"HEAD:{name}").strip() for name in ("a.txt", "b.txt"))
    (tmp_path / ".git" / "objects" / missing[:2] / missing[2:]).unlink()
    store = tmp_path / "s.db"
    assert run_cli("scan", "--history", tmp_path, "--store", store).code == 0
    seen = FindingsStore(store).seen_blobs()
    assert kept in seen and missing not in seen


def test_lfs_pointer_and_huge_blob_are_skipped(run_cli, tmp_path):
    (tmp_path / "model.bin").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    (tmp_path / "big.txt").write_text("x" * 3000)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    doc = json.loads(run_cli("scan", "--history", tmp_path, "-f", "json", "--max-file-size", "2K").out)
    assert doc["summary"]["skipped"] == {"git-lfs pointer": 1, "too large": 1}


def test_parallel_history_equals_serial(sample_repo, run_cli, tmp_path, monkeypatch):
    repo = sample_repo("webapp")
    serial = audit(run_cli, repo, "--store", tmp_path / "s.db", "--jobs", "1")
    from secretsweep import history_audit, scan

    monkeypatch.setattr(history_audit, "PARALLEL_MIN_BLOBS", 0)
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    parallel = audit(run_cli, repo, "--store", tmp_path / "p.db", "--jobs", "2")
    assert parallel["findings"] == serial["findings"]


def _rev_list_blobs(repo: Path) -> set[str]:
    out = git(repo, "rev-list", "--objects", "--all", "--filter=object:type=blob", "--filter-provided-objects")
    return {line.split(" ", 1)[0] for line in out.splitlines()}


def _tangled_repo(root: Path) -> Path:
    """A merge that writes text neither parent had, a rename, a deletion, a symlink, a submodule link,
    a stash with an untracked file, and tags naming a blob and a tree directly."""
    repo = root / "tangled"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("one\n")
    (repo / "gone.txt").write_text("soon deleted\n")
    (repo / "keep.txt").write_text("renamed later\n")
    (repo / "link").symlink_to("a.txt")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "root")
    git(repo, "checkout", "-qb", "side")
    (repo / "a.txt").write_text("side\n")
    git(repo, "mv", "keep.txt", "moved.txt")
    git(repo, "commit", "-qam", "side")
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", "gone.txt")
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    (repo / "a.txt").write_text(f'resolved = "{fake_aws_key_id(61)}"\n')  # only the merge has this blob
    git(repo, "add", "a.txt")
    git(repo, "commit", "-qm", "merge")
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")
    git(repo, "commit", "-qm", "submodule link")
    (repo / "a.txt").write_text("work in progress\n")
    (repo / "new.txt").write_text("untracked\n")
    git(repo, "stash", "-q", "--include-untracked")
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"tagged blob\n").strip()
    git(repo, "tag", "blob-tag", blob)
    tree = git(repo, "mktree", input=f"100644 blob {git(repo, 'hash-object', '-w', '--stdin', input=b'in tree')}"
                                     .strip().encode() + b"\tt.txt\n").strip()
    git(repo, "tag", "tree-tag", tree)
    return repo


def test_one_log_pass_names_every_blob_rev_list_names(tmp_path, sample_repo):
    from secretsweep.sources.history import HistoryLog, open_repo

    for repo in (_tangled_repo(tmp_path), sample_repo("webapp"), sample_repo("infra")):
        log = HistoryLog(open_repo(repo))
        named = [b for b, _ in log.blobs()]
        log.close()
        assert len(named) == len(set(named))
        assert set(named) == _rev_list_blobs(repo), repo.name
        assert log.commits == int(git(repo, "rev-list", "--all", "--count"))


def test_a_sha256_repository(tmp_path, run_cli):
    """Object ids of 64 hex digits: the walk finds each version and the commit that wrote it."""
    repo = tmp_path / "sha256"
    repo.mkdir()
    git(repo, "init", "-q", "--object-format=sha256", "-b", "main")
    (repo / "conf.py").write_text(f'key = "{fake_aws_key_id(63)}"\n')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "conf.py").write_text(f'key = "{fake_aws_key_id(63)}"\nmore = 1\n')
    git(repo, "commit", "-qam", "two")
    second = git(repo, "rev-parse", "HEAD").strip()
    doc = audit(run_cli, repo)
    (finding,) = [f for f in doc["findings"] if f["rule"] == "aws.access-key-id"]
    assert sorted((loc["commit"], loc["in_head"]) for loc in finding["locations"]) == sorted(
        [(first, False), (second, True)])
    assert len(first) == 64 and doc["summary"]["unique_blobs"] == 2


def test_the_walk_reads_every_record_in_any_chunking(tmp_path):
    """The walk's output split at NULs gives what matching each record whole gives, however it arrives,
    with paths that look like the start of a record."""
    from array import array

    from secretsweep.sources import history

    repo = _tangled_repo(tmp_path)
    for name in (":colon", "\x01odd", "new\nline", "\n:both"):
        (repo / name).write_text(f"{name!r}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "odd names")
    raw = subprocess.run(["git", "-C", str(repo), "log", "--all", "--raw", "-z", "--no-abbrev", "--no-renames",
                          "--diff-merges=first-parent", history._LOG_FORMAT], capture_output=True, check=True).stdout
    records = list(history._RECORD.finditer(raw))
    expected_commits = [m.start() for m in records if m["blob"] is None]
    changes = [m for m in records if m["blob"] is not None]
    expected_named, seen = [], set()
    for m in changes:
        if m["blob"] not in seen and m["mode"] != b"160000" and m["blob"].strip(b"0"):
            seen.add(m["blob"])
            expected_named.append((m["blob"].decode(), m["path"].decode()))
    assert {":colon", "\x01odd", "new\nline", "\n:both"} <= {p for _, p in expected_named}
    assert len(expected_commits) == int(git(repo, "rev-list", "--all", "--count"))
    for size in (1, 7, 64, len(raw)):
        commits, keys, at = array("q"), array("q"), array("q")
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
        named = [item for batch in history._new_blobs(pieces, set(), commits, keys, at) for item in batch]
        assert named == expected_named, size
        assert list(commits) == expected_commits, size
        assert list(at) == [m.start() for m in changes], size
        assert list(keys) == [hash(m["blob"]) for m in changes], size


def test_a_secret_only_a_merge_wrote_has_the_merge_as_provenance(tmp_path, run_cli):
    repo = _tangled_repo(tmp_path)
    doc = audit(run_cli, repo)
    (finding,) = [f for f in doc["findings"] if f["rule"] == "aws.access-key-id"]
    (loc,) = finding["locations"]
    merge = git(repo, "log", "--merges", "--format=%H", "main").split()[0]
    assert (loc["path"], loc["commit"], loc["in_head"]) == ("a.txt", merge, True)
    assert doc["summary"]["unique_blobs"] == len(_rev_list_blobs(repo))


def _introductions_read_record_by_record(log, wanted):
    """The reference: every record of the kept pass read in order, the first committed per blob and path;
    of equal commit times one that is not a merge, then the later in the walk."""
    import mmap

    from secretsweep.sources import history

    merges = set(git(log.repo.path, "rev-list", "--all", "--merges").encode().split())
    found, commit = {}, None
    with mmap.mmap(log._kept.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        for m in history._RECORD.finditer(buf):
            if m["blob"] is None:
                commit = m
            elif m["blob"].decode() in wanted:
                per_path = found.setdefault(m["blob"].decode(), {})
                held = per_path.get(m["path"])
                rank = (int(commit["committed"]), commit["commit"] in merges)
                if held is None or rank <= held[0]:
                    per_path[m["path"]] = (rank, commit)
        return {b: sorted((history._introduction(p, c) for p, (_, c) in per_path.items()),
                          key=lambda i: (i.date, i.path)) for b, per_path in found.items()}


@pytest.mark.parametrize("colliding", [False, True], ids=["ids", "every-key-alike"])
def test_provenance_from_the_walk_index_is_what_reading_every_record_finds(tmp_path, monkeypatch, colliding):
    from secretsweep.sources import history

    if colliding:  # every record then looks like a candidate: the full id must still decide
        monkeypatch.setattr(history, "_key", lambda blob: 7)
    repo = _tangled_repo(tmp_path)
    log = history.HistoryLog(history.open_repo(repo))
    every = [b for b, _ in log.blobs()]
    fast = log.introductions(every)
    some = log.introductions(every[::3])
    assert fast == _introductions_read_record_by_record(log, set(every))
    assert some == {b: fast[b] for b in every[::3] if b in fast}
    log.close()
    assert len(fast) == len(every) - 2  # the tagged blob and the tagged tree's blob were never committed
    moved = next(i for intros in fast.values() for i in intros if i.path == "moved.txt")
    assert moved.commit == git(repo, "rev-parse", "side").strip()


def test_a_skewed_clock_still_gives_the_first_committed(tmp_path, monkeypatch, run_cli):
    """Two branches write the same secret at one path. git walks newest first, and a child dated before
    its parent makes it reach the 2015 commit after the 2010 one: the 2010 commit is still the first."""
    repo = tmp_path / "skewed"
    repo.mkdir()
    secret = f'key = "{fake_aws_key_id(62)}"\n'

    def commit(path: str, text: str, year: int) -> str:
        (repo / path).write_text(text)
        for who in ("AUTHOR", "COMMITTER"):
            monkeypatch.setenv(f"GIT_{who}_DATE", f"{year}-01-01T00:00:00+00:00")
        git(repo, "add", path)
        git(repo, "commit", "-qm", str(year))
        return git(repo, "rev-parse", "HEAD").strip()

    git(repo, "init", "-q", "-b", "main")
    commit("readme.txt", "root\n", 1990)
    git(repo, "checkout", "-qb", "late")
    commit("a.txt", secret, 2015)
    commit("other.txt", "a child older than its parent\n", 2000)
    git(repo, "checkout", "-qb", "early", "main")
    early = commit("a.txt", secret, 2010)
    order = git(repo, "log", "--all", "--format=%ad", "--date=format:%Y").split()
    assert order.index("2010") < order.index("2015")  # the walk meets the older writer first
    doc = audit(run_cli, repo)
    (loc,) = next(f for f in doc["findings"] if f["rule"] == "aws.access-key-id")["locations"]
    assert (loc["path"], loc["commit"], loc["date"]) == ("a.txt", early, "2010-01-01T00:00:00+00:00")


def test_progress_total_is_given_once_the_walk_is_over(sample_repo, tmp_path, monkeypatch):
    from secretsweep import history_audit
    from secretsweep.engine import build_detector
    from secretsweep.rules import load_rules
    from secretsweep.sources.history import open_repo

    monkeypatch.setattr(history_audit, "BATCH_BLOBS", 1)
    monkeypatch.setattr(history_audit, "PARALLEL_MIN_BLOBS", 0)
    repo = open_repo(sample_repo("webapp"))
    totals: list[int] = []
    done: list[int] = []
    store = FindingsStore(tmp_path / "s.db")
    result = history_audit.audit(repo, build_detector(load_rules()), store, max_size=1 << 20, jobs=2,
                                 progress=lambda blobs, _size: done.append(blobs),
                                 on_total=lambda total, _size: totals.append(total))
    store.close()
    assert totals == [result.new_blobs] == [9]
    assert done == sorted(done) and done[-1] == result.scan.blobs


def test_the_workers_scan_at_a_lower_priority_than_the_walk(sample_repo, tmp_path, monkeypatch):
    from secretsweep import history_audit
    from secretsweep.engine import build_detector
    from secretsweep.rules import load_rules
    from secretsweep.sources import history

    monkeypatch.setattr(history_audit, "BATCH_BLOBS", 1)
    monkeypatch.setattr(history_audit, "PARALLEL_MIN_BLOBS", 0)
    noted = tmp_path / "niceness"
    read = history.HistorySource.blobs

    def blobs(self: history.HistorySource) -> Iterator[tuple[Blob, Origin]]:
        with noted.open("a") as out:  # written from the forked workers
            out.write(f"{os.nice(0)}\n")
        yield from read(self)

    monkeypatch.setattr(history.HistorySource, "blobs", blobs)
    before = os.nice(0)
    store = FindingsStore(tmp_path / "s.db")
    history_audit.audit(history.open_repo(sample_repo("webapp")), build_detector(load_rules()), store,
                        max_size=1 << 20, jobs=2)
    store.close()
    assert set(noted.read_text().split()) == {str(min(19, before + history_audit.WORKER_NICE))}
    assert os.nice(0) == before


def test_a_missing_tree_is_named_and_the_rest_still_scanned(run_cli, tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("first\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "one")
    lost = git(tmp_path, "rev-parse", "HEAD:d").strip()
    (tmp_path / "d" / "f.txt").write_text(f'KEY = "{fake_aws_key_id(62)}"\n')
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "two")
    (tmp_path / ".git" / "objects" / lost[:2] / lost[2:]).unlink()  # the first commit's folder
    res = run_cli("scan", "--history", tmp_path, "--store", tmp_path / "s.db")
    assert res.code == 1  # the readable history is scanned: the key is found
    assert "missing or corrupt object" in res.err and lost in res.err
    assert "2 commits" in res.err and "Traceback" not in res.err


def test_heads_files_scanned_first_are_each_scanned_once(tmp_path, run_cli):
    # HEAD's files are handed to the workers while git orders its walk; a blob at two paths in HEAD
    # and in older commits is still scanned once and traced to every path that holds it.
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    secret = f'key = "{fake_aws_key_id(71)}"\n'
    (repo / "a.txt").write_text(secret)
    (repo / "b.txt").write_text("old\n")
    (repo / "c.txt").write_text("unchanged since\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    (repo / "copy").mkdir()
    (repo / "copy" / "a.txt").write_text(secret)
    (repo / "b.txt").write_text("new\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "two")
    summary_doc = audit(run_cli, repo, "--store", tmp_path / "s.db")
    summary = summary_doc["summary"]
    assert summary["unique_blobs"] == summary["new_blobs"] == summary["blobs"] == len(_rev_list_blobs(repo)) == 4
    assert summary["duplicates"] == 0
    locations = by_rule(summary_doc)["aws.access-key-id"]["locations"]
    assert sorted((loc["path"], loc["in_head"]) for loc in locations) == [("a.txt", True), ("copy/a.txt", True)]
    narrowed = audit(run_cli, repo, "--store", tmp_path / "n.db", "--since", "HEAD~1")["summary"]
    assert narrowed["unique_blobs"] == 2  # what the last commit wrote: not c.txt, though HEAD holds it
