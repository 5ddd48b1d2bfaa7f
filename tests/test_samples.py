"""The sample repositories: what must be found, what must not, and that no output holds a plaintext."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

# (rule id, path, line) of every planted secret in each sample's working tree.
EXPECTED = {
    "webapp": {
        ("generic.password-assignment", "app/settings.py", 7),
        ("db.postgres-uri", "config/.env", 1),
        ("generic.password-config", "config/.env", 3),
        ("slack.webhook", "config/app.yaml", 2),
        ("stripe.secret-key", "config/app.yaml", 6),
        ("google.api-key", "frontend/config.js", 3),
    },
    "infra": {
        ("generic.password-config", "config/cache.ini", 4),
        ("key.private-key", "deploy/id_rsa", 1),
        ("config.compose-env-secret", "docker-compose.yml", 6),
        ("config.k8s-secret-stringdata", "k8s/redis-secret.yaml", 7),
        ("generic.password-xml", "service/settings.xml", 7),
        ("config.spring-datasource-password", "service/src/main/resources/application.properties", 3),
    },
}


def planted_secrets(name: str) -> list[str]:
    """Every planted value, read back through --show-secrets (the one place plaintext is asked for)."""
    return _PLANTED[name]


_PLANTED: dict[str, list[str]] = {}


@pytest.fixture
def scanned(sample_repo, run_cli):
    def scan(name: str) -> tuple[Path, dict]:
        repo = sample_repo(name)
        shown = run_cli("scan", repo, "--format", "json", "--show-secrets", "-q", "--min-confidence", "medium")
        _PLANTED[name] = [f["secret"] for f in json.loads(shown.out)["findings"]]
        return repo, json.loads(shown.out)

    return scan


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_findings_match_what_was_planted(name, scanned):
    _, doc = scanned(name)
    found = {(f["rule"], f["path"], f["line"]) for f in doc["findings"]}
    assert EXPECTED[name] <= found
    # Nothing beyond the planted secrets at medium confidence or above: the look-alikes stay quiet.
    assert found == EXPECTED[name], found - EXPECTED[name]


def test_look_alikes_are_not_reported(sample_repo, run_cli):
    repo = sample_repo("webapp")
    doc = json.loads(run_cli("scan", repo, "--format", "json", "--show-secrets", "-q").out)
    secrets = [f["secret"] for f in doc["findings"]]
    for look_alike in ("AKIAIOSFODNN7EXAMPLE", "changeme", "pk_live_", "${API_TOKEN}", "SECRET_KEY",
                       "3f786850e387550fdab836ed7e6dc881de23001b", "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                       "sha512-", "process.env", "${REDIS_PASSWORD}"):
        assert not any(look_alike in s for s in secrets), look_alike


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "sarif"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_plaintext_in_any_default_output(name, fmt, scanned, run_cli, tmp_path):
    repo, _ = scanned(name)
    secrets = planted_secrets(name)
    assert len(secrets) == len(EXPECTED[name])
    result = run_cli("scan", repo, "--format", fmt)
    written = tmp_path / f"report.{fmt}"
    run_cli("scan", repo, "--format", fmt, "--output", written)
    assert result.code == 1
    for secret in secrets:
        for text in (result.out, result.err, written.read_text()):
            assert secret not in text
            # A PEM block is matched as a whole; no line of its body may appear either.
            for part in re.split(r"\s+", secret):
                if len(part) >= 16:
                    assert part not in text

