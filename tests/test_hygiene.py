"""Secret hygiene, proven: unique canaries planted in a repository never appear in anything any command
writes (stdout, stderr, reports, the store, the baseline, caches, migration files), except where the
user asked for plaintext (--show-secrets)."""

from __future__ import annotations

import binascii
import os
from pathlib import Path

from secretsweep.core.validators import base62
from tests.conftest import fake_aws_key_id, fake_token, git


def _github_token(seed: int) -> str:
    body = fake_token(30, seed=seed)
    return "ghp_" + body + base62(binascii.crc32(body.encode()), 6).decode()


def test_canaries_appear_nowhere(run_cli, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SECRETSWEEP_CACHE_DIR", str(cache))
    repo = tmp_path / "repo"
    repo.mkdir()
    canaries = {
        "aws": fake_aws_key_id(901),
        "github": _github_token(902),
        "password": "Cz" + fake_token(16, seed=903),
        "pg": "Pq" + fake_token(18, seed=904),
    }
    (repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{canaries["aws"]}"\n'
                                      f'db_password = "{canaries["password"]}"\n')
    (repo / "deploy.sh").write_text(f"GITHUB_TOKEN={canaries['github']}\n")
    (repo / ".env").write_text(f"DATABASE_URL=postgres://app:{canaries['pg']}@db.internal:5432/app\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leaks")
    out_dir = tmp_path / "reports"
    out_dir.mkdir()

    transcripts: list[str] = []

    def run(*argv: object) -> None:
        res = run_cli(*argv)
        assert "Traceback" not in res.err
        transcripts.extend([res.out, res.err])

    for fmt in ("text", "json", "jsonl", "sarif"):
        run("scan", repo, "--format", fmt)
        run("scan", repo, "--format", fmt, "--output", out_dir / f"r.{fmt}", "--min-confidence", "low")
        run("scan", "--history", repo, "--format", fmt)
        run("report", repo, "--format", fmt)
    run("baseline", "create", repo)
    fp = next(ln.split()[-1] for ln in run_cli("scan", repo, "--no-baseline").out.splitlines() if "id:" in ln)
    run("decide", fp, "--as", "confirmed", "--path", repo)
    run("baseline", "update", repo)
    run("baseline", "prune", repo)
    (repo / "more.py").write_text(f'token = "{canaries["github"]}"\n')
    git(repo, "add", "more.py")
    run("scan", "--staged", repo)
    run("scan", "--staged", repo, "--format", "json")
    run("migrate", repo, "--allow-dirty", "--write-plan", out_dir / "plan.json")
    run("migrate", repo, "--allow-dirty", "--format", "json")
    run("scan", repo / "missing")  # an error message
    run("rules", "list")

    written = [p for p in (repo / ".secretsweep", out_dir, cache) if p.exists()]
    blobs = [p.read_bytes() for root in written for p in root.rglob("*") if p.is_file()]
    blobs.append((repo / ".secretsweep-baseline.json").read_bytes())
    assert len(blobs) > 8
    everything = "\n".join(transcripts).encode() + b"\n".join(blobs)
    for name, value in canaries.items():
        assert value.encode() not in everything, f"the {name} canary leaked"
    # The one explicit request for plaintext does show it.
    shown = run_cli("scan", repo, "--show-secrets", "--no-baseline").out
    assert canaries["aws"] in shown and canaries["github"] in shown


def test_debug_tracebacks_are_opt_in(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("SECRETSWEEP_DEBUG", raising=False)
    res = run_cli("scan", tmp_path / "nope")
    assert res.code == 2 and "Traceback" not in res.err
    assert os.environ.get("SECRETSWEEP_DEBUG") is None
    assert Path(tmp_path).exists()
