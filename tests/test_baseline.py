"""The baseline file, decisions, imports from other tools, and scans that fail only on what is new."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from secretsweep.baseline import Baseline, parse, render
from secretsweep.errors import BaselineError
from secretsweep.model import Decision, Status
from tests.conftest import fake_aws_key_id, fake_token, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(f'KEY = "{fake_aws_key_id(1)}"\ndb_password = "{fake_token(14, seed=2)}"\n')
    git(tmp_path, "init", "-q")
    return tmp_path


def fingerprints(run_cli, repo: Path, *extra: str) -> list[str]:
    return [f["fingerprint"] for f in json.loads(run_cli("scan", repo, "-f", "json", "-q", *extra).out)["findings"]]


def test_create_then_scan_fails_only_on_new(run_cli, repo):
    assert run_cli("scan", repo).code == 1
    assert run_cli("baseline", "create", repo).code == 0
    assert run_cli("scan", repo).code == 0
    (repo / "new.py").write_text(f'OTHER = "{fake_aws_key_id(2)}"\n')
    res = run_cli("scan", repo, "-f", "json", "-q")
    assert res.code == 1
    assert [f["path"] for f in json.loads(res.out)["findings"]] == ["new.py"]
    assert run_cli("baseline", "create", repo).code == 2  # exists: update instead
    assert run_cli("baseline", "update", repo).code == 0
    assert run_cli("scan", repo).code == 0
    assert run_cli("scan", repo, "--no-baseline").code == 1


def test_file_format_is_merge_friendly(run_cli, repo):
    run_cli("baseline", "create", repo)
    text = (repo / ".secretsweep-baseline.json").read_text()
    doc = json.loads(text)
    assert doc["version"] == 1 and len(doc["entries"]) == 2
    entry_lines = [ln for ln in text.splitlines() if ln.startswith('  "v1:')]
    assert len(entry_lines) == 2 and entry_lines == sorted(entry_lines)
    for fp in doc["entries"]:
        assert text.count(fp) == 1
    # Nothing in it changes when nothing was decided.
    run_cli("baseline", "update", repo)
    assert (repo / ".secretsweep-baseline.json").read_text() == text


def test_confirmed_findings_are_still_reported_unless_only_new(run_cli, repo):
    run_cli("baseline", "create", repo)
    fp = fingerprints(run_cli, repo, "--no-baseline")[0]
    assert run_cli("decide", fp, "--as", "confirmed", "--path", repo).code == 0
    res = run_cli("scan", repo, "-f", "json", "-q")
    (finding,) = json.loads(res.out)["findings"]
    assert res.code == 1 and finding["fingerprint"] == fp and finding["decision"] == "confirmed"
    assert run_cli("scan", repo, "--only-new").code == 0


def test_decide_needs_a_reason_to_ignore_and_a_known_fingerprint(run_cli, repo):
    fp = fingerprints(run_cli, repo)[0]
    assert run_cli("decide", fp, "--as", "ignored", "--path", repo).code == 2
    assert run_cli("decide", fp, "--as", "ignored", "--reason", "test key", "--path", repo).code == 0
    entry = json.loads((repo / ".secretsweep-baseline.json").read_text())["entries"][fp]
    assert entry["status"] == "ignored" and entry["reason"] == "test key" and entry["by"] and entry["at"]
    assert run_cli("decide", "v1:" + "0" * 40, "--as", "confirmed", "--path", repo).code == 2


def test_prune_drops_what_is_gone_and_says_so(run_cli, repo):
    run_cli("baseline", "create", repo)
    (repo / "app.py").write_text("clean = True\n")
    res = run_cli("baseline", "prune", repo)
    assert res.code == 0 and res.out.count("pruned v1:") == 2
    assert json.loads((repo / ".secretsweep-baseline.json").read_text())["entries"] == {}


@pytest.mark.parametrize("text,fragment", [
    ('{"version": 1, "entries": {', ":1:"),
    ('{"version": 99, "entries": {}}', "newer"),
    ('{"version": 1, "entries": {"v1:x": {"status": "maybe"}}}', "unknown status"),
    ("[]", "not a secretsweep baseline"),
])
def test_corrupt_baseline_is_one_line_exit_2_and_left_alone(run_cli, repo, text, fragment):
    path = repo / ".secretsweep-baseline.json"
    path.write_text(text)
    res = run_cli("scan", repo)
    assert res.code == 2 and fragment in res.err and res.err.count("\n") == 1
    assert path.read_text() == text


def test_older_format_is_upgraded():
    old = json.dumps({"version": 0, "results": [{"fingerprint": "v1:ab", "rule": "x.y", "status": "confirmed"}]})
    assert parse(old, "b.json")["v1:ab"].status is Status.CONFIRMED
    with pytest.raises(BaselineError):
        parse('{"version": "one"}', "b.json")


def _decide_many(path: str, prefix: str, n: int) -> None:
    for i in range(n):
        b = Baseline.load(Path(path))
        b.decide(Decision(f"v1:{prefix}{i:038d}", "x.y", Status.FALSE_POSITIVE))
        b.save()


def test_two_processes_lose_no_entry(tmp_path):
    path = tmp_path / "b.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_decide_many, args=(str(path), p, 40)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert len(Baseline.load(path).entries) == 80


def test_save_merges_with_another_writer(tmp_path):
    path = tmp_path / "b.json"
    mine, theirs = Baseline.load(path), Baseline.load(path)
    mine.decide(Decision("v1:" + "1" * 40, "x.y", Status.CONFIRMED))
    theirs.decide(Decision("v1:" + "2" * 40, "x.y", Status.IGNORED, "fixture"))
    theirs.save()
    mine.save()
    assert len(Baseline.load(path).entries) == 2
    assert render(Baseline.load(path).entries) == path.read_text()


def test_import_detect_secrets(run_cli, repo):
    secrets = {f["rule"]: f["secret"] for f in json.loads(run_cli("scan", repo, "-f", "json", "-q",
                                                                  "--show-secrets").out)["findings"]}
    key = secrets["aws.access-key-id"]
    ds = {"version": "1.5.0", "plugins_used": [], "results": {"app.py": [
        {"type": "AWS Access Key", "filename": "app.py", "hashed_secret": hashlib.sha1(key.encode()).hexdigest(),
         "is_verified": False, "line_number": 1, "is_secret": False}],
        "gone.py": [{"type": "Secret Keyword", "filename": "gone.py", "hashed_secret": "0" * 40, "line_number": 3}],
    }}
    (repo / ".secrets.baseline").write_text(json.dumps(ds))
    res = run_cli("baseline", "import", repo / ".secrets.baseline", repo)
    assert res.code == 0 and "1 decision(s) carried" in res.out and "gone.py:3" in res.err
    entries = json.loads((repo / ".secretsweep-baseline.json").read_text())["entries"]
    assert [e["status"] for e in entries.values()] == ["false_positive"]


def test_import_gitleaksignore_and_report(run_cli, repo):
    (repo / ".gitleaksignore").write_text("# ignored\napp.py:aws-access-token:1\nnope.py:generic:9\n")
    res = run_cli("baseline", "import", repo / ".gitleaksignore", repo)
    assert "1 decision(s) carried" in res.out and "nope.py:9" in res.err
    report = [{"RuleID": "generic-api-key", "File": "app.py", "StartLine": 2, "Secret": "REDACTED"}]
    (repo / "gl.json").write_text(json.dumps(report))
    res = run_cli("baseline", "import", repo / "gl.json", repo)
    assert "1 decision(s) carried" in res.out
    statuses = sorted(e["status"] for e in json.loads((repo / ".secretsweep-baseline.json").read_text())[
        "entries"].values())
    assert statuses == ["ignored", "unreviewed"]
    assert run_cli("scan", repo).code == 0
