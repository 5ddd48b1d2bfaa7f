"""secretsweep migrate, piece by piece: the pure plan, the LibCST codemod, config-file rewrites, the AWS adapter."""

from __future__ import annotations

import json

import boto3
import pytest
from libcst.codemod import CodemodTest
from moto import mock_aws

from secretsweep.errors import AwsError
from secretsweep.migrate import plan as planning
from secretsweep.migrate.aws import SecretsManager
from secretsweep.migrate.config_files import rewrite_config
from secretsweep.migrate.python_codemod import LiteralTarget, ReplaceSecretLiteral, rewrite_python
from secretsweep.model import BlobId, Confidence, Finding, Occurrence, Origin, Severity

# Built at run time so secretsweep's scan of this repository does not report them.
AKID = "AKIA" + "Q3EGUQJY4CJ5NOTE"
SAK = "t8Zq0pV3mX1cL9rW2s" + "Y7uB4nK6hJ5gF0dE1aQ2zR"


def finding(fp: str, rule: str, secret: str, path: str, data: bytes) -> Finding:
    start = data.index(secret.encode())
    line = data[:start].count(b"\n") + 1
    col = start - (data.rfind(b"\n", 0, start) + 1) + 1
    occ = Occurrence(BlobId("x"), start, start + len(secret), line, col, Origin("worktree", path))
    return Finding(fp, rule, secret[:3] + "…", "", Severity.HIGH, Confidence.HIGH, (occ,), secret.encode())


def test_plan_groups_aws_pair_and_names_by_variable():
    data = f'AWS_ACCESS_KEY_ID = "{AKID}"\nAWS_SECRET_ACCESS_KEY = "{SAK}"\nDB_PASSWORD = "hunter2hunter2!"\n'.encode()
    fs = [finding("v1:a", "aws.access-key-id", AKID, "app/conf.py", data),
          finding("v1:b", "aws.secret-access-key", SAK, "app/conf.py", data),
          finding("v1:c", "generic.password-assignment", "hunter2hunter2!", "app/conf.py", data)]
    plan = planning.build_plan(fs, {"app/conf.py": data}, repo="My Webapp", region="us-east-1")
    names = {s.name: s for s in plan.secrets}
    assert set(names) == {"my-webapp/aws-credentials", "my-webapp/db-password"}
    pair = names["my-webapp/aws-credentials"]
    assert pair.keys == {"aws_access_key_id": "v1:a", "aws_secret_access_key": "v1:b"}
    assert [r.key for r in plan.replacements] == ["aws_access_key_id", "aws_secret_access_key", None]
    doc = json.dumps(plan.to_json())
    assert AKID not in doc and SAK not in doc and "hunter2" not in doc


def test_plan_connection_uri_is_one_json_secret_and_names_can_be_overridden():
    data = b"DATABASE_URL=postgres://app:" + b"s3cretPassw0rd@db:5432/app\n"
    f = finding("v1:u", "db.postgres-uri", "s3cretPassw0rd", ".env", data)
    plan = planning.build_plan([f], {".env": data}, repo="w", names={"v1:u": "prod/db"})
    (s,) = plan.secrets
    assert s.name == "prod/db" and s.kind == "connection-uri"
    assert {"url", "username", "password", "host", "port", "dbname"} <= set(s.keys)
    (r,) = plan.replacements
    assert data[r.start:r.end] == b"postgres://app:" + b"s3cretPassw0rd@db:5432/app"
    assert planning.connection_fields(data[r.start:r.end])["username"] == "app"


def test_policy_allows_only_the_secrets():
    policy = planning.iam_policy(["arn:aws:secretsmanager:us-east-1:1:secret:a-??????"],
                                 "arn:aws:kms:us-east-1:1:key/k")
    (read, kms) = policy["Statement"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == ["arn:aws:secretsmanager:us-east-1:1:secret:a-??????"]
    assert kms["Action"] == ["kms:Decrypt"] and kms["Resource"] == ["arn:aws:kms:us-east-1:1:key/k"]
    assert planning.iam_policy(["x"])["Statement"][1:] == []


def test_remediation_rotation_by_rule():
    assert any("create-access-key" in s for s in planning.rotation_steps(["aws.access-key-id"]))
    assert any("stripe.com" in s for s in planning.rotation_steps(["stripe.secret-key"]))
    assert any("service it belongs to" in s for s in planning.rotation_steps(["acme.token"]))


class TestReplaceSecretLiteral(CodemodTest):
    TRANSFORM = ReplaceSecretLiteral

    def test_rewrites_plain_literals_and_leaves_unsafe_ones(self):
        before = '''
import os

DB_PASSWORD = "pw-0123456789"  # the database
TOKEN = "tok-abcdefghij"
LABEL = f"pw-0123456789{os.sep}"
JOINED = "tok-abcdefghij" + os.sep
OTHER = "not a secret"


def connect(password="pw-0123456789", **kw):
    return dict(password="pw-0123456789", options={"token": "tok-abcdefghij"})


class Settings:
    api_token = "tok-abcdefghij"
'''
        after = '''
import os
from secretsweep_secrets import get_secret

DB_PASSWORD = get_secret("w/db-password")  # the database
TOKEN = "tok-abcdefghij"
LABEL = f"pw-0123456789{os.sep}"
JOINED = "tok-abcdefghij" + os.sep
OTHER = "not a secret"


def connect(password=get_secret("w/db-password"), **kw):
    return dict(password=get_secret("w/db-password"), options={"token": "tok-abcdefghij"})


class Settings:
    api_token = "tok-abcdefghij"
'''
        pw = b"pw-0123456789"
        # assertCodemod drops the fixture's leading newline: line numbers count from "import os".
        targets = [LiteralTarget(3, pw, "w/db-password", None, "a"), LiteralTarget(10, pw, "w/db-password", None, "a"),
                   LiteralTarget(11, pw, "w/db-password", None, "a")]
        self.assertCodemod(before, after, targets, "settings.py")

    def test_fstring_concatenation_and_split_literal_are_refused_with_warnings(self):
        src = ('A = f"x{1}tok-abcdefghij"\nB = "tok-abcdefghij" + "!"\n'
               'C = """tok-abcdefghij\n"""\nD = "tok-abcdefghij"\n')
        tok = b"tok-abcdefghij"
        res = rewrite_python(src, [LiteralTarget(n, tok, "w/t", None, f"fp{n}") for n in (1, 2, 3)]
                             + [LiteralTarget(5, tok, "w/t", "token", "fp4")], "m.py")
        assert res.refused == {"fp1", "fp2", "fp3"}
        assert [w.split(":")[:2] for w in res.warnings] == [["m.py", "1"], ["m.py", "2"], ["m.py", "3"]]
        assert 'D = get_secret("w/t", "token")' in res.code
        assert res.code.count("tok-abcdefghij") == 3
        compile(res.code, "m.py", "exec")


def _reps(path: str, data: bytes, secret: str, name: str = "w/k", key: str | None = None):
    s = data.index(secret.encode())
    return [planning.Replacement(path, s, s + len(secret), 1, 1, "fp", name, key)]


@pytest.mark.parametrize("kind,path,data", [
    ("env", ".env", b"# c\nAPI_TOKEN=tok-abcdefghij\nOTHER=1\n"),
    ("yaml", "a.yaml", b"a:\n  token: tok-abcdefghij  # note\n  b: 'x'\n"),
    ("yaml", "b.yaml", b'a:\n  token: "tok-abcdefghij"\n'),
    ("json", "c.json", b'{\n  "token": "tok-abcdefghij",\n  "n": 1\n}\n'),
    ("toml", "d.toml", b'[svc]\ntoken = "tok-abcdefghij" # keep\n'),
    ("ini", "e.ini", b"[svc]\ntoken = tok-abcdefghij\n"),
])
def test_config_values_replaced_in_place_and_still_parse(kind, path, data):
    res = rewrite_config(kind, data, _reps(path, data, "tok-abcdefghij", key="token"), path)
    assert b"tok-abcdefghij" not in res.data
    assert b"aws-secretsmanager://w/k#token" in res.data
    # everything else byte for byte
    assert res.data.replace(b"aws-secretsmanager://w/k#token", b"tok-abcdefghij") == data
    assert res.loader_note and path in res.loader_note


def test_cloudformation_gets_dynamic_reference():
    data = b"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Db:\n    Properties:\n      Pw: hunter2hunter\n"
    res = rewrite_config("yaml", data, _reps("t.yaml", data, "hunter2hunter", "w/db", "password"), "t.yaml",
                         cloudformation=planning.is_cloudformation("yaml", data.decode()))
    assert b'Pw: "{{resolve:secretsmanager:w/db:SecretString:password}}"' in res.data


def test_part_of_a_value_is_refused():
    data = b"AUTH=Bearer tok-abcdefghij\n"
    res = rewrite_config("env", data, _reps(".env", data, "tok-abcdefghij"), ".env")
    assert res.data == data and res.refused == {"fp"} and ".env:1" in res.warnings[0]


@mock_aws
def test_adapter_create_describe_reuse_delete():
    sm = SecretsManager(region="us-east-1", kms_key_id=None)
    arn = sm.create("w/a", "v1", {"created-by": "secretsweep"})
    got = sm.describe("w/a")
    assert got is not None and got.arn == arn and got.tags["created-by"] == "secretsweep"
    assert sm.get_value("w/a") == "v1"
    assert sm.describe("w/none") is None
    with pytest.raises(AwsError) as e:
        sm.create("w/a", "v1", {})
    assert "ResourceExists" in str(e.value) and "v1" not in str(e.value).replace("w/a", "")
    sm.delete("w/a")
    assert boto3.client("secretsmanager", region_name="us-east-1").list_secrets()["SecretList"] == []
