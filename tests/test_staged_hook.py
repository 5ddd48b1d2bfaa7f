"""The pre-commit path: exactly what is staged, only the lines it adds, and the hook around it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fake_aws_key_id, fake_token, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "old.py").write_text(f'OLD = "{fake_aws_key_id(10)}"\nx = 1\n')
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def staged(run_cli, repo: Path, *extra: str):
    res = run_cli("scan", "--staged", repo, "-f", "json", "-q", *extra)
    return res.code, (json.loads(res.out)["findings"] if res.out else [])


def test_nothing_staged_is_clean(run_cli, repo):
    assert staged(run_cli, repo) == (0, [])


def test_only_the_index_not_the_working_tree(run_cli, repo):
    (repo / "new.py").write_text(f'NEW = "{fake_aws_key_id(11)}"\n')
    assert staged(run_cli, repo)[0] == 0  # not staged yet
    git(repo, "add", "new.py")
    (repo / "new.py").write_text("clean = True\n")  # the working copy changed after staging
    code, found = staged(run_cli, repo)
    assert code == 1 and [(f["path"], f["line"]) for f in found] == [("new.py", 1)]


def test_only_added_lines_of_a_modified_file(run_cli, repo):
    with open(repo / "old.py", "a") as f:
        f.write(f'\n\nTOKEN = "{fake_aws_key_id(12)}"\n')
    git(repo, "add", "old.py")
    code, found = staged(run_cli, repo)
    assert code == 1 and [f["line"] for f in found] == [5]  # the old key on line 1 is not this commit's


def test_deleted_renamed_binary_and_huge_files(run_cli, repo):
    git(repo, "rm", "-q", "old.py")
    (repo / "bin.dat").write_bytes(b"\x00" + fake_aws_key_id(13).encode())
    (repo / "big.txt").write_text("x" * 5000 + f"\nk = {fake_aws_key_id(14)}\n")
    git(repo, "add", ".")
    assert staged(run_cli, repo, "--max-file-size", "1K") == (0, [])


def test_rename_with_a_new_secret(run_cli, repo):
    git(repo, "mv", "old.py", "moved.py")
    assert staged(run_cli, repo)[0] == 0  # moving code adds nothing
    with open(repo / "moved.py", "a") as f:
        f.write(f'K = "{fake_aws_key_id(15)}"\n')
    git(repo, "add", "moved.py")
    code, found = staged(run_cli, repo)
    assert code == 1 and found[0]["path"] == "moved.py"


def test_repository_without_commits(run_cli, tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text(f'K = "{fake_aws_key_id(16)}"\n')
    git(tmp_path, "add", ".")
    assert staged(run_cli, tmp_path)[0] == 1


def test_not_a_repository(run_cli, tmp_path):
    res = run_cli("scan", "--staged", tmp_path)
    assert res.code == 2 and "not a git repository" in res.err


def test_merge_in_progress(run_cli, repo):
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "old.py").write_text("side = 1\n")
    git(repo, "commit", "-qam", "side")
    git(repo, "checkout", "-q", "main")
    (repo / "old.py").write_text("main = 1\n")
    git(repo, "commit", "-qam", "main")
    subprocess.run(["git", "-C", str(repo), "merge", "side"], capture_output=True)  # conflicts
    (repo / "extra.py").write_text(f'K = "{fake_aws_key_id(17)}"\n')
    git(repo, "add", "extra.py")
    code, found = staged(run_cli, repo)
    assert code == 1 and [f["path"] for f in found] == ["extra.py"]


def test_baseline_and_inline_allow_apply(run_cli, repo):
    (repo / "a.py").write_text(f'A = "{fake_aws_key_id(18)}"  # secretsweep:allow fixture\n'
                               f'db_password = "{fake_token(14, seed=3)}"\n')
    git(repo, "add", "a.py")
    code, found = staged(run_cli, repo)
    assert code == 1 and len(found) == 1
    assert run_cli("decide", found[0]["fingerprint"], "--as", "false_positive", "--path", repo).code == 0
    assert staged(run_cli, repo)[0] == 0


def _commit(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", "-C", str(repo), "commit", "-qm", "change"], capture_output=True, text=True, env=env)


def test_installed_hook_blocks_and_explains_and_chains(run_cli, repo):
    hooks = repo / ".git" / "hooks"
    previous = hooks / "pre-commit"
    previous.write_text("#!/bin/sh\necho previous-hook-ran >&2\n")
    previous.chmod(0o755)
    res = subprocess.run([sys.executable, "-m", "secretsweep", "hook", "install", str(repo)], capture_output=True,
                         text=True)
    assert res.returncode == 0 and "runs first" in res.stdout
    (repo / "leak.py").write_text(f'K = "{fake_aws_key_id(19)}"\n')
    git(repo, "add", "leak.py")
    blocked = _commit(repo)
    assert blocked.returncode != 0
    out = blocked.stdout + blocked.stderr
    assert "previous-hook-ran" in out and "AKIA\u2026(20)" in out
    assert fake_aws_key_id(19) not in out
    for way in ("remove it", "secretsweep:allow", "secretsweep decide"):
        assert way in out
    (repo / "leak.py").write_text("K = load()\n")
    git(repo, "add", "leak.py")
    assert _commit(repo).returncode == 0
    # Installing twice keeps the chained hook and does not chain itself.
    subprocess.run([sys.executable, "-m", "secretsweep", "hook", "install", str(repo)], check=True,
                   capture_output=True)
    assert "previous-hook-ran" in (hooks / "pre-commit.secretsweep-chained").read_text()


def test_pre_commit_framework_manifest():
    import yaml

    from tests.conftest import ROOT

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "secretsweep" and hook["entry"] == "secretsweep scan --staged"
    assert hook["pass_filenames"] is False and hook["language"] == "python"
