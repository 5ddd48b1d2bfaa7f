"""The CLI as a user meets it: exit codes, formats, errors in one line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT, fake_aws_key_id, fake_aws_secret, fake_token

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{fake_aws_key_id(5)}"\nAWS_SECRET_ACCESS_KEY = "{fake_aws_secret(5)}"\n')
    (tmp_path / "copy.py").write_text(f'key = "{fake_aws_key_id(5)}"\n')
    (tmp_path / "clean.py").write_text("print('hello')\n")
    return tmp_path


def test_exit_codes(run_cli, leaky, tmp_path):
    assert run_cli("scan", leaky).code == 1
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.py").write_text("x = 1\n")
    assert run_cli("scan", clean).code == 0
    missing = run_cli("scan", tmp_path / "nope")
    assert missing.code == 2
    assert missing.err.count("\n") == 1 and "no such file" in missing.err


def test_one_finding_per_secret_with_every_location(run_cli, leaky):
    doc = json.loads(run_cli("scan", leaky, "--format", "json", "-q").out)
    by_rule = {f["rule"]: f for f in doc["findings"]}
    key = by_rule["aws.access-key-id"]
    assert sorted(loc["path"] for loc in key["locations"]) == ["app.py", "copy.py"]
    assert key["path"] == "app.py" and key["line"] == 1
    assert all(loc["commit"] is None for loc in key["locations"])
    assert set(key) >= {"rule", "fingerprint", "redacted", "path", "line", "locations"}


def test_fingerprint_survives_moving_code(run_cli, leaky):
    before = {f["fingerprint"] for f in json.loads(run_cli("scan", leaky, "-f", "json", "-q").out)["findings"]}
    text = (leaky / "app.py").read_text()
    (leaky / "app.py").unlink()
    (leaky / "moved").mkdir()
    (leaky / "moved" / "settings.py").write_text("\n\n# moved\n" + text)
    after = {f["fingerprint"] for f in json.loads(run_cli("scan", leaky, "-f", "json", "-q").out)["findings"]}
    assert before == after


def test_sarif_is_valid_against_the_published_schema(run_cli, leaky):
    doc = json.loads(run_cli("scan", leaky, "--format", "sarif").out)
    jsonschema.validate(doc, SCHEMA)
    results = doc["runs"][0]["results"]
    assert len(results) == 3  # two locations of the key id, one of the secret key
    assert {r["ruleId"] for r in results} == {"aws.access-key-id", "aws.secret-access-key"}


def test_jsonl_and_output_file(run_cli, leaky, tmp_path):
    out = tmp_path / "r.jsonl"
    res = run_cli("scan", leaky, "--format", "jsonl", "--output", out)
    assert res.out == ""
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(ln)["fingerprint"].startswith("v1:") for ln in lines)


def test_show_secrets_is_explicit(run_cli, leaky):
    secret = fake_aws_secret(5)
    assert secret not in run_cli("scan", leaky).out
    assert secret in run_cli("scan", leaky, "--show-secrets").out


def test_min_confidence(run_cli, tmp_path):
    (tmp_path / "a.py").write_text(f'db_password = "{fake_token(12, seed=4)}"\n')
    assert run_cli("scan", tmp_path, "--min-confidence", "high").code == 0
    assert run_cli("scan", tmp_path, "--min-confidence", "medium").code == 1


def test_inline_allow_and_audit(run_cli, tmp_path):
    (tmp_path / "a.py").write_text(f'key = "{fake_aws_key_id(9)}"  # secretsweep:allow test key\n')
    assert run_cli("scan", tmp_path).code == 0
    audit = run_cli("scan", tmp_path, "--no-inline-allow", "-f", "json", "-q")
    assert audit.code == 1
    (finding,) = json.loads(audit.out)["findings"]
    assert finding["locations"][0]["allowed_by"] == "secretsweep:allow test key"


def test_user_rules_and_builtins_off(run_cli, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.toml").write_text(
        "[[rule]]\nid = 'acme.token'\nname = 'Acme token'\npattern = '''(?P<secret>acme_[a-z0-9]{12})'''\n"
        "examples = ['acme_k3j4h5g6f7d8', 'x acme_q1w2e3r4t5y6']\nnegative_examples = ['acme_short']\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text(f't = "acme_k9j8h7g6f5d4"\nk = "{fake_aws_key_id(3)}"\n')
    doc = json.loads(run_cli("scan", src, "--rules", rules, "--no-builtin-rules", "-f", "json", "-q").out)
    assert [f["rule"] for f in doc["findings"]] == ["acme.token"]
    listed = run_cli("rules", "list", "--rules", rules, "--no-builtin-rules")
    assert "acme.token" in listed.out
    assert run_cli("rules", "check", "--rules", rules, "--no-builtin-rules").code == 0


def test_broken_rule_file_is_one_line_and_exit_2(run_cli, tmp_path):
    (tmp_path / "bad.toml").write_text("[[rule]]\nid = 'bad.one'\nname = 'x'\npattern = '(?P<secret>[a-'\n")
    res = run_cli("scan", tmp_path, "--rules", tmp_path / "bad.toml")
    assert res.code == 2
    assert res.err.count("\n") == 1 and "bad.toml" in res.err and "bad.one" in res.err


def test_rules_check_fails_on_a_bad_example(run_cli, tmp_path):
    (tmp_path / "r.toml").write_text(
        "[[rule]]\nid = 'x.y'\nname = 'x'\npattern = '''(?P<secret>zz[0-9]{4})'''\nexamples = ['nope']\n")
    res = run_cli("rules", "check", "--rules", tmp_path, "--no-builtin-rules")
    assert res.code == 2 and "x.y" in res.err and "example does not match" in res.err


def test_builtin_rules_check_passes(run_cli):
    res = run_cli("rules", "check")
    assert res.code == 0, res.err


@pytest.mark.parametrize("argv", [["scan", "--max-file-size", "huge"], ["scan", "--format", "xml"], ["bogus"]])
def test_bad_arguments_exit_2(argv):
    res = subprocess.run([sys.executable, "-m", "secretsweep", *argv], capture_output=True, text=True)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1, res.stderr


def test_console_script_end_to_end(leaky):
    res = subprocess.run([sys.executable, "-m", "secretsweep", "scan", str(leaky), "-f", "json"],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert len(json.loads(res.stdout)["findings"]) == 2
    assert "scanned 3 files" in res.stderr
    assert "Traceback" not in res.stderr


def test_parallel_scan_matches_serial(run_cli, tmp_path):
    for i in range(60):
        (tmp_path / f"f{i}.py").write_text(f'k = "{fake_aws_key_id(i)}"\n' + "x = 1\n" * 50)
    serial = json.loads(run_cli("scan", tmp_path, "-f", "json", "-q", "--jobs", "1").out)
    from secretsweep import scan

    old = scan.PARALLEL_MIN_BYTES
    scan.PARALLEL_MIN_BYTES = 0
    try:
        parallel = json.loads(run_cli("scan", tmp_path, "-f", "json", "-q", "--jobs", "2").out)
    finally:
        scan.PARALLEL_MIN_BYTES = old
    assert parallel["findings"] == serial["findings"]
    assert len(serial["findings"]) == 60
