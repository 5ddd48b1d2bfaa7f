"""Properties of the pure core, on generated input (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretsweep.core.detect import Detector
from secretsweep.core.fingerprint import fingerprint
from secretsweep.rules import load_rules
from tests.conftest import fake_aws_key_id, fake_token

RULES = load_rules()
DETECTOR = Detector(RULES)

_LINES = st.sampled_from([
    "x = 1", "password = {p}", "db_password = \"{p}\"", "aws_access_key_id = {k}", "key: {k}", "# comment",
    "url = \"postgres://app:{p}@db.internal:5432/app\"", "", "token = os.environ['TOKEN']", "\t\tindent",
    "-----BEGIN RSA PRIVATE KEY-----", "é ü ñ 中文", "AKIA", "secretsweep:allow",
])


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_LINES, max_size=30))
    seed = draw(st.integers(0, 10_000))
    return "\n".join(ln.format(p=fake_token(14, seed=seed + i), k=fake_aws_key_id(seed + i))
                     for i, ln in enumerate(lines)).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_no_exception_on_arbitrary_bytes(data):
    for m in DETECTOR.detect(data).matches:
        assert 0 <= m.start < m.end <= len(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_matches_lie_inside_and_line_and_column_agree(data):
    for m in DETECTOR.detect(data).matches:
        assert 0 <= m.start < m.end <= len(data)
        assert data[m.start:m.end] == m.secret
        before = data[:m.start]
        assert m.line == before.count(b"\n") + 1
        line_text = before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")
        assert m.column == len(line_text) + 1
        assert m.fingerprint == fingerprint(m.rule_id, m.secret)
        assert m.secret.decode("utf-8", "replace") not in m.preview


@given(st.text(min_size=1, max_size=40), st.binary(min_size=1, max_size=64), st.binary(min_size=1, max_size=64))
def test_fingerprint_depends_only_on_rule_and_secret(rule_id, secret, other):
    assert fingerprint(rule_id, secret) == fingerprint(rule_id, bytes(secret))
    if other != secret:
        assert fingerprint(rule_id, secret) != fingerprint(rule_id, other)
    assert fingerprint(rule_id, secret) != fingerprint(rule_id + "x", secret)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), documents())
def test_scanning_pieces_agrees_with_scanning_the_whole(a, b):
    whole = a + b"\n\n\n" + b
    split_at = len(a) + 3
    pieces = {(m.rule_id, m.start, m.secret) for m in DETECTOR.detect(a).matches}
    pieces |= {(m.rule_id, m.start + split_at, m.secret) for m in DETECTOR.detect(b).matches}
    joined = {(m.rule_id, m.start, m.secret) for m in DETECTOR.detect(whole).matches}
    # Rules that read context across lines (a key id near its secret) may see more in the whole.
    assert pieces <= joined
    assert {x for x in joined if not x[0].endswith("near-id")} <= pieces | {
        x for x in joined if x[0].startswith("generic.") or x[0].endswith("near-id")}
