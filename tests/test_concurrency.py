"""Two scans sharing one findings store: no corruption, no lost blob, both finish."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import fake_aws_key_id, git


def test_two_history_scans_share_one_store(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for i in range(30):
        (repo / f"f{i}.py").write_text(f'K{i} = "{fake_aws_key_id(500 + i)}"\n' + "x = 1\n" * 200)
        git(repo, "add", ".")
        git(repo, "commit", "-qm", f"c{i}")
    store = tmp_path / "shared.db"
    argv = [sys.executable, "-m", "secretsweep", "scan", "--history", str(repo), "--store", str(store), "-q",
            "-f", "json"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 1, err.decode()
        assert len(json.loads(out)["findings"]) == 30
    report = subprocess.run([sys.executable, "-m", "secretsweep", "report", str(repo), "--store", str(store),
                             "-f", "json"], capture_output=True, text=True)
    assert len(json.loads(report.stdout)["findings"]) == 30


def test_scan_while_a_reader_holds_the_store(tmp_path, sample_repo):
    """The triage app reads the store while a scan writes it: WAL lets both go on."""
    import sqlite3

    repo = sample_repo("webapp")
    store = tmp_path / "s.db"
    argv = [sys.executable, "-m", "secretsweep", "scan", "--history", str(repo), "--store", str(store), "-q"]
    assert subprocess.run(argv, capture_output=True).returncode == 1
    reader = sqlite3.connect(store)
    reader.execute("BEGIN")
    before = reader.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    (repo / "new.py").write_text(f'K = "{fake_aws_key_id(600)}"\n')
    git(repo, "add", "new.py")
    git(repo, "commit", "-qm", "new")
    res = subprocess.run(argv + ["-f", "json"], capture_output=True, timeout=120)
    assert res.returncode == 1 and len(json.loads(res.stdout)["findings"]) == before + 1
    assert reader.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == before  # its snapshot holds
    reader.rollback()
    assert reader.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == before + 1
    reader.close()
