"""Encoded secrets: base64 and hex text decoded and scanned again, reported where the encoded form is."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secretsweep.core import decode
from secretsweep.core.detect import Detector
from secretsweep.rules import load_rules
from tests.conftest import fake_aws_key_id

RULES = load_rules()
BOTH = [Detector(RULES), Detector(RULES, use_hyperscan=False)]


def k8s_secret(value: bytes) -> bytes:
    return (b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  config: "
            + base64.b64encode(value) + b"\n")


@pytest.mark.parametrize("detector", BOTH, ids=["hyperscan", "regex"])
def test_key_inside_a_kubernetes_secret(detector):
    key = fake_aws_key_id(31)
    doc = k8s_secret(f"aws_access_key_id = {key}\n".encode())
    (m,) = [m for m in detector.detect(doc, "deploy/secret.yaml").matches if m.rule_id == "aws.access-key-id"]
    assert m.secret == key.encode()
    assert (m.line, m.column) == (6, 11)  # where the base64 text starts
    assert doc[m.start:m.end].startswith(base64.b64encode(b"aws_access_key_id")[:12])
    assert "(base64)" in m.preview and key not in m.preview


@pytest.mark.parametrize("detector", BOTH, ids=["hyperscan", "regex"])
def test_hex_encoded_secret_with_a_hint(detector):
    key = fake_aws_key_id(32)
    doc = f'k = bytes.fromhex("{("id=" + key).encode().hex()}")\n'.encode()
    assert [m.rule_id for m in detector.detect(doc).matches] == ["aws.access-key-id"]


def test_no_hint_no_decoding():
    key = fake_aws_key_id(33)
    doc = b"blob: " + base64.b64encode(f"aws_access_key_id = {key}\n".encode()) + b"\n"
    assert [m.rule_id for m in BOTH[0].detect(doc).matches if m.rule_id.startswith("aws.")] == []


def test_depth_is_bounded():
    key = fake_aws_key_id(34)
    inner = f"aws_access_key_id = {key}\n".encode()
    for _ in range(3):  # three layers of base64, each with a hint
        inner = b"kind: Secret\ndata:\n  x: " + base64.b64encode(inner) + b"\n"
    assert not [m for m in BOTH[0].detect(inner).matches if m.rule_id == "aws.access-key-id"]
    assert [m for m in BOTH[0].detect(inner, decode_depth=3).matches if m.rule_id == "aws.access-key-id"]


def test_binary_payloads_are_not_rescanned():
    assert list(decode.segments(b"kind: Secret\ndata:\n  x: " + base64.b64encode(bytes(range(256))) + b"\n",
                                {"base64"})) == []


def test_plaintext_and_encoded_copy_are_one_finding():
    key = fake_aws_key_id(35)
    doc = f"aws_access_key_id = {key}\n".encode() + k8s_secret(f"aws_access_key_id = {key}\n".encode())
    matches = [m for m in BOTH[0].detect(doc).matches if m.rule_id == "aws.access-key-id"]
    assert len(matches) == 1 and matches[0].line == 1


@pytest.mark.parametrize("detector", BOTH, ids=["hyperscan", "regex"])
def test_percent_encoded_connection_string(detector):
    from urllib.parse import quote

    from tests.conftest import fake_token

    password = fake_token(14, seed=36)
    doc = f"DATABASE_URL: {quote(f'postgres://app:{password}@db.internal:5432/app', safe='')}\n".encode()
    (m,) = detector.detect(doc).matches
    assert m.rule_id == "db.postgres-uri" and m.secret == password.encode() and m.column == 15
    assert "(percent)" in m.preview and password not in m.preview


def test_percent_runs_need_three_escapes():
    assert list(decode.segments(b"see me%40example and a%2Fb", {"percent"})) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["QUJD", "ZGVm", "0123", "abcdef", "+/", "==", "=", " ", "\n", "-", "_", "%",
                                 "deadBEEF", "xyz", "Z"]), max_size=80))
def test_runs_are_the_regex_runs(pieces):
    # Runs are found with bytes.translate and bytes.find; they must be exactly the regex's maximal runs.
    import re

    data = "".join(pieces).encode()
    for kind, pattern in (("base64", rb"[A-Za-z0-9+/]{20,}"), ("hex", rb"[0-9a-fA-F]{32,}")):
        expected = [m.span() for m in re.finditer(pattern, data)]
        assert list(decode._runs(data, *decode._ALPHABETS[kind])) == expected
