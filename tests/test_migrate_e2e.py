"""secretsweep migrate end to end on the webapp sample, against a moto server on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from sample_repos.build import build
from secretsweep.baseline import Baseline
from secretsweep.cli_migrate import add_migrate_arguments, cmd_migrate
from secretsweep.engine import build_detector, cache_dir
from secretsweep.errors import SecretsweepError
from secretsweep.migrate import aws as aws_mod
from secretsweep.model import Decision, Status
from secretsweep.rules import load_rules
from secretsweep.scan import run
from secretsweep.sources.worktree import WorktreeSource
from tests.conftest import git

REGION = "us-east-1"
DB_PASSWORD = "v1:91eb968af70746f45ae40c7f06acff668a37483e"  # app/settings.py
DATABASE_URL = "v1:47bcdea320f8888642a4070528d2d68700be1b25"  # config/.env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    srv.start()
    yield f"http://127.0.0.1:{port}"
    srv.stop()


@pytest.fixture
def sm(server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=server)
    for s in client.list_secrets()["SecretList"]:
        client.delete_secret(SecretId=s["ARN"], ForceDeleteWithoutRecovery=True)
    return client


def _findings(repo: Path):
    return run(WorktreeSource(repo), build_detector(load_rules(cache=cache_dir())), jobs=1).findings


@pytest.fixture
def webapp(tmp_path):
    """The webapp sample with every finding confirmed, baseline committed: a clean tree."""
    repo = build("webapp", tmp_path / "webapp")
    found = _findings(repo)
    b = Baseline.load(repo / ".secretsweep-baseline.json")
    for f in found:
        b.decide(Decision(f.fingerprint, f.rule_id, Status.CONFIRMED))
    b.save()
    (repo / ".secretsweep-baseline.json.lock").unlink(missing_ok=True)
    git(repo, "add", ".secretsweep-baseline.json")
    git(repo, "commit", "-qm", "baseline")
    return repo, {f.fingerprint: f.secret for f in found}


def migrate(capsys, *argv) -> tuple[int, str, str]:
    p = argparse.ArgumentParser()
    add_migrate_arguments(p)
    try:
        code = cmd_migrate(p.parse_args([str(a) for a in argv]))
    except SecretsweepError as exc:
        print(f"secretsweep: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    out = capsys.readouterr()
    return code, out.out, out.err


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in repo.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


def test_dry_run_changes_nothing_and_shows_everything(webapp, sm, capsys, tmp_path):
    repo, secrets = webapp
    before = snapshot(repo)
    plan_file = tmp_path / "plan.json"
    code, out, err = migrate(capsys, repo, "--region", REGION, "--write-plan", plan_file)
    assert code == 0
    assert snapshot(repo) == before
    assert sm.list_secrets()["SecretList"] == []
    assert "+DB_PASSWORD = get_secret(\"webapp/db-password\")" in out
    assert "+DATABASE_URL=aws-secretsmanager://webapp/database-url#url" in out
    assert "webapp/stripe-key" in out and "secretsmanager:GetSecretValue" in out
    assert "arn:aws:secretsmanager:us-east-1:*:secret:webapp/db-password-??????" in out
    assert "# Remediation plan" in out and "git filter-repo --replace-text" in out
    assert "frontend/config.js:3" in err  # no rewriter for JavaScript: named, not touched
    for s in secrets.values():
        text = s.decode()
        assert text not in out and text not in err and text not in plan_file.read_text()
    # The reviewed plan, with a name changed, drives the next run.
    doc = json.loads(plan_file.read_text())
    for s in doc["secrets"]:
        if s["name"] == "webapp/db-password":
            s["name"] = "prod/webapp/db"
    plan_file.write_text(json.dumps(doc))
    code, out, _ = migrate(capsys, repo, "--region", REGION, "--plan", plan_file, "--format", "json")
    assert code == 0
    names = {s["name"] for s in json.loads(out)["secrets"]}
    assert "prod/webapp/db" in names and "webapp/db-password" not in names


def test_apply_then_app_reads_secrets_and_scan_is_clean(webapp, sm, server, capsys, tmp_path):
    repo, secrets = webapp
    purge = tmp_path / "purge.txt"
    code, out, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION,
                             "--purge-expressions", purge)
    assert code == 0, err
    listed = {s["Name"]: s for s in sm.list_secrets()["SecretList"]}
    assert set(listed) == {"webapp/db-password", "webapp/database-url", "webapp/api-token", "webapp/slack-webhook",
                           "webapp/stripe-key"}
    tags = {t["Key"]: t["Value"] for t in listed["webapp/db-password"]["Tags"]}
    assert tags["created-by"] == "secretsweep" and tags["source-path"] == "app/settings.py"
    assert json.loads(sm.get_secret_value(SecretId="webapp/database-url")["SecretString"])["username"] == "webapp"
    # The rewritten settings module fetches the original value from the same server.
    env = {**os.environ, "AWS_ENDPOINT_URL": server, "AWS_REGION": REGION, "SECRET_KEY": "x",
           "PYTHONPATH": str(repo)}
    res = subprocess.run([sys.executable, "-c", "import app.settings as s, secretsweep_secrets as h, hashlib; "
                          "print(hashlib.sha256(s.DB_PASSWORD.encode()).hexdigest()); "
                          "print(hashlib.sha256(h.resolve(open('config/.env').read().split('=',1)[1].split()[0])"
                          ".encode()).hexdigest())"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    import hashlib

    assert res.stdout.split()[0] == hashlib.sha256(secrets[DB_PASSWORD]).hexdigest()
    url = b"postgres://webapp:" + secrets[DATABASE_URL] + b"@db.internal:5432/webapp"
    assert res.stdout.split()[1] == hashlib.sha256(url).hexdigest()
    # Baseline: migrated with name and ARN; the scan finds none of the migrated secrets.
    b = Baseline.load(repo / ".secretsweep-baseline.json")
    migrated = {fp: d for fp, d in b.entries.items() if d.status is Status.MIGRATED}
    assert len(migrated) == 5 and all(d.secret_arn and d.secret_name for d in migrated.values())
    assert not set(migrated) & {f.fingerprint for f in _findings(repo)}
    policy = json.loads((repo / "secretsweep-iam-policy.json").read_text())
    assert sorted(policy["Statement"][0]["Resource"]) == sorted(s["ARN"] for s in listed.values())
    assert not (repo / ".secretsweep" / "migrate-journal.json").exists()
    assert oct(purge.stat().st_mode & 0o777) == "0o600" and "HOLDS THE PLAINTEXT" in err
    # Redaction: no plaintext in output, policy, baseline or anything left under .secretsweep/.
    kept = [out, err, (repo / "secretsweep-iam-policy.json").read_text(),
            (repo / ".secretsweep-baseline.json").read_text()]
    kept += [p.read_text(errors="replace") for p in (repo / ".secretsweep").rglob("*") if p.is_file()]
    for s in secrets.values():
        assert all(s.decode() not in k for k in kept)
    # Running again changes nothing.
    before = snapshot(repo)
    code, out, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION)
    assert code == 0 and snapshot(repo) == before and len(sm.list_secrets()["SecretList"]) == 5


def test_failure_on_second_create_rolls_everything_back(webapp, sm, server, capsys, monkeypatch):
    repo, secrets = webapp
    before = snapshot(repo)
    real = aws_mod.SecretsManager.create
    calls = []

    def flaky(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise aws_mod.AwsError("cannot create secret: ThrottlingException: Rate exceeded")
        return real(self, *a, **kw)

    monkeypatch.setattr(aws_mod.SecretsManager, "create", flaky)
    code, out, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION)
    assert code == 4, err
    assert "ThrottlingException" in err and "nothing changed" in err
    assert len(err.strip().splitlines()) == 2  # the not-migrated warning, then one line saying what failed
    assert snapshot(repo) == before
    assert sm.list_secrets()["SecretList"] == []


def test_file_changed_underneath_rolls_back(webapp, sm, server, capsys, monkeypatch):
    repo, _ = webapp
    before = snapshot(repo)
    real = aws_mod.SecretsManager.create

    def sneaky(self, name, *a, **kw):
        arn = real(self, name, *a, **kw)
        if name.endswith("stripe-key"):
            (repo / "config" / "app.yaml").write_bytes(before["config/app.yaml"] + b"# edited\n")
        return arn

    monkeypatch.setattr(aws_mod.SecretsManager, "create", sneaky)
    code, _, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION, "--allow-dirty")
    assert code == 4 and "config/app.yaml changed" in err
    after = snapshot(repo)
    assert after.pop("config/app.yaml") == before["config/app.yaml"] + b"# edited\n"  # the user's edit is theirs
    before.pop("config/app.yaml")
    assert after == before and sm.list_secrets()["SecretList"] == []


def test_unreachable_endpoint_and_missing_credentials_exit_3(webapp, sm, capsys, monkeypatch):
    repo, _ = webapp
    before = snapshot(repo)
    code, _, err = migrate(capsys, repo, "--apply", "--endpoint-url", f"http://127.0.0.1:{_free_port()}",
                           "--region", REGION)
    assert code == 3 and "unreachable" in err and snapshot(repo) == before
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = migrate(capsys, repo, "--apply", "--endpoint-url", "http://127.0.0.1:9", "--region", REGION)
    assert code == 3 and "no AWS credentials" in err and snapshot(repo) == before


def test_existing_secret_reused_or_refused(webapp, sm, server, capsys):
    repo, secrets = webapp
    db = secrets[DB_PASSWORD]
    sm.create_secret(Name="webapp/db-password", SecretString=db.decode())
    sm.create_secret(Name="webapp/api-token", SecretString="something else")
    before = snapshot(repo)
    code, _, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION)
    assert code == 3 and "different value" in err and "--overwrite" in err
    assert snapshot(repo) == before
    assert {s["Name"] for s in sm.list_secrets()["SecretList"]} == {"webapp/db-password", "webapp/api-token"}
    code, out, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION, "--overwrite")
    assert code == 0, err
    assert "[reused]" in out and "[overwritten]" in out


def test_dirty_tree_refused_and_leftover_journal_rolled_back(webapp, sm, server, capsys):
    repo, _ = webapp
    (repo / "app" / "settings.py").write_text((repo / "app" / "settings.py").read_text() + "# wip\n")
    code, _, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION)
    assert code == 2 and "uncommitted changes" in err
    git(repo, "checkout", "--", "app/settings.py")
    # An interrupted run: a secret created, a file half-written, the journal left behind.
    from secretsweep.migrate.apply import Journal, sha256

    original = (repo / "config" / ".env").read_bytes()
    j = Journal(repo)
    backup = j.backup_dir() / "config" / ".env"
    backup.parent.mkdir(parents=True)
    backup.write_bytes(original)
    j.doc["files"].append({"path": "config/.env", "sha256_before": sha256(original), "sha256_after": sha256(b"half"),
                           "writing": True, "backup": str(backup.relative_to(repo))})
    j.doc["secrets"].append({"name": "webapp/api-token", "action": "create", "started": True})
    j.save()
    sm.create_secret(Name="webapp/api-token", SecretString="x", Tags=[{"Key": "secretsweep-run", "Value": j.run}])
    (repo / "config" / ".env").write_bytes(b"half")
    code, _, err = migrate(capsys, repo, "--region", REGION)  # a dry run only says so
    assert "did not finish" in err and (repo / "config" / ".env").read_bytes() == b"half"
    code, out, err = migrate(capsys, repo, "--apply", "--endpoint-url", server, "--region", REGION)
    assert code == 0, err
    assert "rolled back" in err
    assert len(sm.list_secrets()["SecretList"]) == 5
    assert b"aws-secretsmanager://webapp/api-token" in (repo / "config" / ".env").read_bytes()
