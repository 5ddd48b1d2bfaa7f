"""The hyperscan path and the pure-regex path give the same matches on the same inputs."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretsweep.core.detect import Detector
from secretsweep.core.matcher import Matcher
from secretsweep.rules import load_rules
from tests.conftest import SAMPLES, fake_aws_key_id, fake_aws_secret, fake_token

pytest.importorskip("hyperscan")

RULES = load_rules()
HS = Detector(RULES)
PURE = Detector(RULES, use_hyperscan=False)


def spans(detector: Detector, data: bytes, path: str | None = None) -> list[tuple[str, int, int, str | None]]:
    return [(m.rule_id, m.start, m.end, m.allowed_by) for m in detector.detect(data, path).matches]


def test_hyperscan_is_in_use():
    assert HS.matcher.uses_hyperscan
    assert not PURE.matcher.uses_hyperscan


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_paths_agree_on_rule_examples(rule):
    for text in (*rule.examples, *rule.negative_examples):
        assert spans(HS, text.encode()) == spans(PURE, text.encode())


def test_paths_agree_on_sample_streams():
    for fi in SAMPLES.glob("*.fi"):
        data = fi.read_bytes()
        assert spans(HS, data) == spans(PURE, data)
        assert spans(HS, data)


def test_paths_agree_on_a_large_mixed_blob():
    # Many hits spread through a big blob: exercises merged windows and the whole-blob fallback.
    parts = []
    for i in range(400):
        parts.append(f"line {i} nothing here\n")
        if i % 7 == 0:
            parts.append(f'aws_access_key_id = "{fake_aws_key_id(i)}"\n')
        if i % 11 == 0:
            parts.append(f'aws_secret_access_key = "{fake_aws_secret(i)}"\npassword = "Zq{i}xR8wLp2"\n')
    data = "".join(parts).encode()
    assert spans(HS, data) == spans(PURE, data)
    assert len(spans(HS, data)) > 60


# Text made of fragments that rules care about, so random inputs do reach the regex stage.
_FRAGMENTS = st.sampled_from([
    "password", " = ", ": ", '"', "'", "\n", "AKIA", "ghp_", "sk_live_", "xoxb-", "://", "@", "secret",
    "token", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "aws_secret_access_key",
    "Zq9xR8wLp2Tm", "ABCDEFGHIJKLMNOP", "0123456789", "=", "#", "secretsweep:allow", " ", "\t",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=60))
def test_paths_agree_on_generated_text(pieces):
    data = "".join(pieces).encode("utf-8", "surrogatepass")
    assert spans(HS, data) == spans(PURE, data)


def test_window_context_covers_wide_lookaheads():
    # A lookahead reaching far past the match: the window must reach that far too, or hyperscan's
    # windows would lose a match the whole-blob regex finds.
    from secretsweep.core.matcher import Reach, reach
    from secretsweep.model import Rule

    pattern = r"(?<![A-Z0-9])(?P<secret>[A-Z0-9]{24})(?=\s{0,300}#\s{0,300}vault token)"
    assert reach(pattern) == Reach(24, 1 + 300 + 1 + 300 + 11, one_line=True, spaces=0)
    assert reach(r"x(?=ab(?<!cde)x)") == Reach(1, 6, one_line=True, spaces=0)  # nested lookarounds add up
    assert reach(r"a+") is None  # unbounded: confirmed over the whole blob
    rule = Rule(id="test.wide-lookahead", name="t", pattern=pattern)
    token = fake_token(24, string.ascii_uppercase + string.digits, seed=3)
    data = ("x\n" * 50 + token + " " * 250 + "#" + " " * 250 + "vault token\n" + "y\n" * 50).encode()
    hs, pure = Detector([rule]), Detector([rule], use_hyperscan=False)
    assert hs.matcher.uses_hyperscan and not hs.matcher._refused
    at = data.index(token.encode())
    assert spans(hs, data) == spans(pure, data) == [(rule.id, at, at + 24, None)]


class _Spy:
    """Stands in for a compiled pattern, noting each window searched with it."""

    def __init__(self, pattern, kind, log):
        self.pattern, self.kind, self.log = pattern, kind, log

    def finditer(self, data, pos, endpos, **kwargs):
        self.log.append((self.kind, endpos - pos, kwargs.get("timeout")))
        return self.pattern.finditer(data, pos, endpos, **kwargs)


def test_small_windows_are_searched_with_re_and_large_ones_with_regex_and_its_time_bound():
    from secretsweep.core import matcher
    from secretsweep.model import Rule

    rule = Rule(id="test.windows", name="t", pattern=r"tok=(?P<secret>[a-z0-9 ]{8,6000})#")
    hs, pure = Detector([rule]), Detector([rule], use_hyperscan=False)
    compiled = hs.matcher.rules[0]
    assert compiled.fast is not None
    log: list[tuple[str, int, float | None]] = []
    compiled._regex, compiled._fast = _Spy(compiled.regex, "regex", log), _Spy(compiled.fast, "re", log)
    small = b"x = 1\ntok=q7w2zr9kx4#\n"
    large = b"x = 1\ntok=" + fake_token(6000, string.ascii_lowercase + string.digits + " ", seed=5).encode() + b"#\n"
    for data in (small, large):
        assert spans(hs, data) == spans(pure, data) == [(rule.id, 10, data.index(b"#"), None)]
    assert [kind for kind, _, _ in log] == ["re", "regex"]
    assert log[0][1] <= matcher.FAST_WINDOW < log[1][1]
    assert log[1][2] == matcher.REGEX_TIMEOUT_S


def test_a_window_seen_before_is_not_searched_again_unless_what_its_search_sees_differs():
    from secretsweep.model import Rule

    # The window is the same 11 bytes in both blobs; only the byte before it, which the lookbehind reads, differs.
    rule = Rule(id="test.window-memory", name="t", pattern=r"(?<![a-z])key(?P<secret>[0-9a-z]{8})")
    hs, pure = Detector([rule]), Detector([rule], use_hyperscan=False)
    compiled = hs.matcher.rules[0]
    log: list[tuple[str, int, float | None]] = []
    compiled._fast = _Spy(compiled.fast, "re", log)
    before, after = b"=keyq7w2zr9k", b"akeyq7w2zr9k"
    for data, searched in ((before, 1), (before, 1), (after, 2), (after, 2), (before, 2)):
        assert spans(hs, data) == spans(pure, data)
        assert len(log) == searched
    assert spans(hs, before) == [(rule.id, 4, 12, None)] and spans(hs, after) == []


PATH_RULES = [r for r in RULES if r.path]


@pytest.mark.parametrize("rule", PATH_RULES, ids=[r.id for r in PATH_RULES])
def test_paths_agree_on_rules_limited_to_some_files(rule):
    # Narrow path rules sit in a hyperscan database of their own, scanned only at matching paths.
    from secretsweep.rules import _example_path

    path = _example_path(rule)
    for text in rule.examples:
        found = spans(HS, text.encode(), path)
        assert found == spans(PURE, text.encode(), path)
        assert found  # this rule's match, or a vendor rule's that shadows it
        assert rule.id not in {f[0] for f in spans(HS, text.encode(), "src/app.py")}


def test_narrow_path_rules_have_their_own_database():
    gated = {HS.matcher.rules[i].rule.id for i in HS.matcher._gated}
    assert "config.dockerfile-secret" in gated
    assert "generic.password-config" not in gated  # its path is most files: gating would scan twice


_GATE_PATHS = ["Dockerfile", "srv/Dockerfile.prod", "srv/app.dockerfile", "DOCKERFILE", "a/containerfile",
               "deploy/values-prod.yaml", "values.yml", "x/values/app.yaml", "infra/main.tf", "v.tfvars.json",
               "n.ipynb", "compose.yml", "docker-compose.override.yaml", ".pypirc", "a/.git-credentials",
               "README.md", "src/app.py", "Dockerfile/notes.txt", "main.tf.bak", "caf\u00e9/Dockerfile",
               "\u212aube/Dockerfile", "srv/DOC\u212aERFILE", "values.yaml\n", "Dockerfile\nREADME"]


@pytest.mark.parametrize("matcher", [HS.matcher, Matcher(RULES, hyperscan_db=HS.matcher.serialize())],
                         ids=["compiled", "loaded"])
def test_the_path_gate_opens_exactly_where_a_gated_rule_applies(matcher):
    # The gate is one hyperscan pass over the path; the rules' own path regexes are the reference.
    assert matcher._path_db is not None
    for path in _GATE_PATHS:
        expected = any(matcher.rules[i].path.search(path) for i in matcher._gated)
        assert matcher._gate_open(path) is expected, path
    assert sum(matcher._gate_open(p) for p in _GATE_PATHS) >= 12


@pytest.mark.parametrize(("pattern", "one_line"), [
    (r"(?im)^[ \t]{0,4}pass[=:](?P<secret>[^\s#]{4,9})(?=\n)", True),  # a lookahead may see the next line
    (r"key[A-Za-z0-9_.-]{0,5}=\w{4}|tok(?:en)?\d{2}", True),
    (r"pass\s{0,2}=x", False),  # \s holds a newline
    (r"pass[^;]{0,9}", False),  # so does a negated class without it
    (r"pass.{0,9}", False),  # `.` is taken to, whatever the flags
    (r"pass[\x00-\x7f]", False),
    (r"a\nb", False),
])
def test_rules_whose_matches_stay_on_one_line_are_told_apart(pattern, one_line):
    from secretsweep.core.matcher import reach

    bounds = reach(pattern)
    assert bounds is not None and bounds.one_line is one_line


def test_one_line_windows_start_at_the_line_and_find_what_the_whole_blob_finds():
    # Windows of a one-line rule start where the hit's line starts, not a whole match-width back:
    # the generic config rule went from confirming ~600 bytes per hit to the line's length.
    from secretsweep.core.matcher import _windows, reach
    from secretsweep.model import Rule

    pattern = r"(?im)^[ \t]{0,40}[A-Za-z_]{0,40}password[ \t]{0,5}=[ \t]{0,5}(?P<secret>[^\s#]{6,64})"
    bounds = reach(pattern)
    assert bounds is not None and bounds.one_line
    secret = fake_token(20, string.ascii_letters, seed=9)
    lines = [f"# filler line {n} password" for n in range(40)]
    lines[7] = f"db_password = {secret}"
    lines[30] = f"  PASSWORD={secret[::-1]}"
    data = "\n".join(lines).encode()
    end = data.index(secret.encode()) + len(secret)
    assert _windows([end], bounds, data) == [(data.rindex(b"\n", 0, end) + 1, end + bounds.around + 1)]
    rule = Rule(id="test.one-line", name="t", pattern=pattern)
    hs, pure = Detector([rule]), Detector([rule], use_hyperscan=False)
    assert hs.matcher.uses_hyperscan
    found = spans(hs, data)
    assert found == spans(pure, data) and len(found) == 2


@pytest.mark.parametrize(("pattern", "spaces"), [
    (r"pass\s{0,5}=\s{0,3}(?P<q>[\"'])(?P<secret>[^\"'\s]{6,40})(?P=q)", 8),  # the backreference holds a quote
    (r"key[ \t]{1,2}(?:is|=)[^\S\n]?x", 3),
    (r"[A-Za-z0-9]{20}", 0),
    (r"a.{0,4}b", 4),  # `.` may be a space
    (r"(?:a\s{0,2}){3}|b", 6),
])
def test_whitespace_a_match_can_hold_is_counted(pattern, spaces):
    from secretsweep.core.matcher import reach

    bounds = reach(pattern)
    assert bounds is not None and bounds.spaces == spaces


def test_windows_start_past_the_whitespace_a_match_cannot_hold():
    # password-assignment's matches hold at most 16 whitespace bytes: its windows start after the 17th
    # one back from a hit instead of a whole match-width (284 bytes) back, and find the same matches.
    from secretsweep.core.matcher import _windows, reach

    rule = next(r for r in RULES if r.id == "generic.password-assignment")
    bounds = reach(rule.pattern)
    assert bounds is not None and bounds.spaces == 16 and not bounds.one_line
    value = fake_token(18, string.ascii_letters + string.digits, seed=21)
    filler = "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 8  # more than a match-width before the hit
    data = f'{filler}\nconfig.password   =\n   "{value}"\n{filler}'.encode()
    end = data.index(value.encode()) + len(value) + 1
    (lo, _hi), = _windows([end], bounds, data)
    assert end - lo < 120 < bounds.width
    hs, pure = Detector([rule]), Detector([rule], use_hyperscan=False)
    found = spans(hs, data)
    assert found == spans(pure, data) and len(found) == 1
