"""A file's next version searched by what changed since the last one: the same hits, and matches, as a
search of the whole file, for less searching."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretsweep.core import versions
from secretsweep.core.detect import Detector
from secretsweep.core.literals import required_literals
from secretsweep.core.matcher import reach
from secretsweep.core.versions import SMALLEST, SPLIT_FROM, Versions, shared_prefix, shared_suffix
from secretsweep.engine import build_detector
from secretsweep.model import Rule
from secretsweep.rules import load_rules
from tests.conftest import fake_aws_key_id, fake_token

# A short rule, and one whose matches span kilobytes: a wide rule, counted in the margin only where
# its literal "BEGINX" is.
SHORT = Rule(id="test.short", name="t", pattern=r"(?<![a-z])key(?P<secret>[0-9a-z]{8})\b")
WIDE = Rule(id="test.wide", name="t", pattern=r"BEGINX(?P<secret>[a-z\n]{100,5000})ENDX")


def _filler(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(["alpha", "beta", "gamma = 1", "return x", "# note", "if y:"])
                        for _ in range(rng.randint(1, 8)))
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines).encode()


def _searched(detector: Detector) -> list[int]:
    """Records the length of every buffer the detector's hyperscan search is handed."""
    lengths: list[int] = []
    search = detector.matcher._search

    def spy(data: bytes | memoryview) -> list[tuple[int, int]]:
        lengths.append(len(data))
        return search(data)

    detector.matcher._search = spy  # type: ignore[method-assign]
    return lengths


def _raw(detector: Detector, data: bytes, path: str, versioned: bool) -> list[tuple[int, int, int]]:
    return [(m.index, m.start, m.end) for m in detector.matcher.scan(data, path, versioned=versioned)[0]]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=3000), st.binary(max_size=3000))
def test_shared_stretches_are_shared_and_at_most_a_grain_short(head, a_rest, b_rest):
    a, b = head + a_rest, head + b_rest
    exact = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    found = shared_prefix(a, b)
    assert a[:found] == b[:found] and exact - versions._GRAIN <= found <= exact
    a, b = a_rest + head, b_rest + head
    most = min(len(a), len(b)) // 2
    exact = next((i for i in range(most) if a[-1 - i] != b[-1 - i]), most)
    found = shared_suffix(a, b, most)
    assert a[len(a) - found :] == b[len(b) - found :] and exact - versions._GRAIN <= found <= exact


def test_a_one_line_change_is_searched_around_the_change_and_finds_what_a_whole_search_finds():
    detector, whole = Detector([SHORT]), Detector([SHORT])
    searched = _searched(detector)
    first = _filler(60_000, 1) + b"\nkey" + fake_token(8, "abcdef0123", seed=1).encode() + b"\n" + _filler(20_000, 2)
    second = first[:30_000] + b"\nkeyq7w2zr9k changed\n" + first[30_000:]
    for version in (first, second):
        assert _raw(detector, version, "a.py", True) == _raw(whole, version, "a.py", False)
    assert len(_raw(detector, second, "b.py", True)) == 2
    assert searched[0] == len(first) and searched[1] < len(second) // 10


def test_a_wide_rules_literal_in_the_change_widens_the_search_to_the_match_it_starts():
    # The last version ends in "ENDX" but holds no "BEGINX": the margin is the short rule's. The next one
    # puts "BEGINX" 3,000 bytes before that end, far past the margin: found only by searching again, wider.
    detector, whole = Detector([SHORT, WIDE]), Detector([SHORT, WIDE])
    searched = _searched(detector)
    body = b"abcdefghij\n" * 300
    last = _filler(40_000, 3) + b"\n" + body + b"ENDX\n" + _filler(20_000, 4)
    cut = 40_001
    nxt = last[:cut] + b"BEGINX" + last[cut:]
    _raw(detector, last, "k.txt", True)
    found = _raw(detector, nxt, "k.txt", True)
    assert found == _raw(whole, nxt, "k.txt", False)
    assert [i for i, _, _ in found] == [1]
    assert len(searched) == 3 and searched[1] < searched[2] < len(nxt)  # the second search is the wider one


def test_memory_keeps_the_newest_files_within_its_budget():
    memory = Versions(40, {}, budget=3 * SMALLEST)
    seen: list[int] = []

    def search(data: bytes | memoryview) -> list[tuple[int, int]]:
        seen.append(len(data))
        return []

    blobs = {name: _filler(SMALLEST, n)[:SMALLEST] for n, name in enumerate("abcd")}
    for name, data in blobs.items():
        memory.hits(data, name, search)
    assert memory._bytes <= 3 * SMALLEST and list(memory._last) == ["b", "c", "d"]
    memory.hits(blobs["a"] + b"x", "a", search)  # forgotten: searched whole
    memory.hits(blobs["d"] + b"x", "d", search)  # remembered: only the end
    assert seen[-2] == SMALLEST + 1 and seen[-1] < SMALLEST // 10
    memory.hits(b"small", "e", search)  # smaller files are searched whole and not kept
    assert "e" not in memory._last


ANCHORED = Rule(id="test.anchored", name="t", pattern=r"(?m)^pass=(?P<secret>[a-z0-9]{6,12})$")
_THREE = Detector([SHORT, WIDE, ANCHORED])


def _fresh_memory() -> tuple[Versions, versions.Search]:
    """An empty memory of versions for the three-rule detector (built once), and its whole-blob search."""
    matcher = _THREE.matcher
    assert matcher._margin is not None
    return Versions(matcher._margin, matcher._wide, 1 << 20), matcher._search


_PIECES = [b"key0a1b2c3d", b"xkey0a1b2c3d", b"BEGINX", b"ENDX", b"pass=abc123", b"pass=abc123\n", b"\n", b"abcdefgh\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 200), st.sampled_from(_PIECES)), min_size=1, max_size=8),
       st.integers(0, 1000))
def test_each_versions_hits_are_exactly_those_of_a_whole_search(edits, seed):
    wide = b"\nBEGINX" + b"abc\n" * 200 + b"ENDX\npass=abc123\n"
    _each_edit_keeps_the_hits_of_a_whole_search(_filler(SMALLEST + 5_000, seed) + wide + _filler(3_000, seed),
                                                 edits, refill=_filler(SMALLEST, seed))


def _each_edit_keeps_the_hits_of_a_whole_search(data: bytes, edits: list[tuple[float, int, bytes]],
                                                refill: bytes = b"") -> None:
    """Each edit (where, bytes cut, piece put) makes the next version of one file (topped up with `refill`
    when it falls below the smallest size searched by changes); its hits must be a whole search's."""
    memory, search = _fresh_memory()
    memory.hits(data, "f", search)
    for where, cut, piece in edits:
        at = int(where * len(data))
        data = data[:at] + piece + data[at + cut :]
        if len(data) < SMALLEST:
            data += refill
        assert sorted(memory.hits(data, "f", search)) == sorted(search(data))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3000), st.sampled_from(_PIECES)), min_size=2, max_size=6),
       st.integers(0, 1000))
def test_a_large_files_versions_edited_in_several_places_keep_exactly_the_hits_of_a_whole_search(edits, seed):
    # Long enough that the middle between the first and last edit is looked through for shared stretches;
    # the wide rule's block sits inside it, so a shared stretch may hold its literal or cut through it.
    wide = b"\nBEGINX" + b"abc\n" * 200 + b"ENDX\npass=abc123\nkey0a1b2c3d\n"
    _each_edit_keeps_the_hits_of_a_whole_search(b"".join(_filler(SPLIT_FROM // 2, seed + i) + wide for i in range(6)),
                                                edits)


def test_two_edits_far_apart_leave_the_middle_between_them_unsearched():
    detector, whole = Detector([SHORT]), Detector([SHORT])
    searched = _searched(detector)
    key = b"\nkey" + fake_token(8, "abcdef0123", seed=3).encode() + b"\n"
    first = _filler(30_000, 1) + key + _filler(3 * SPLIT_FROM, 2) + key + _filler(30_000, 3)
    second = first[:20_000] + b"\nkeyq7w2zr9k one\n" + first[20_000 : len(first) - 20_000] + b"\nkeyz8x3yq0w two\n" \
        + first[len(first) - 20_000 :]
    for version in (first, second):
        assert _raw(detector, version, "a.py", True) == _raw(whole, version, "a.py", False)
    assert len(_raw(detector, second, "a.py", True)) == 4  # both planted keys, moved, and both new ones
    assert searched[0] == len(first) and sum(searched[1:]) < len(second) // 10


@pytest.mark.parametrize("edge", ["start", "stop"])
def test_a_hit_whose_context_crosses_a_shared_stretchs_edge_is_searched_again(edge):
    # Versions that differ near both ends and 8,192 bytes either side of the middle, where the coarse
    # measure finds the shared stretch exactly. A key at the stretch's start or end matches in the last
    # version only: its first byte (start) or the byte after it (stop, for \\b) is outside the stretch and
    # differs. The margin is the key's own width, so its context reaches as far as the margin allows.
    tight = Rule(id="test.tight", name="t", pattern=r"key(?P<secret>[0-9a-z]{8})\b")
    search = Detector([tight]).matcher._search
    width = reach(tight.pattern).width
    memory = Versions(width, {}, 1 << 20)
    size = 3 * SPLIT_FROM
    start, stop = size // 2 - 8192, size // 2 + 8192
    old = bytearray(_filler(size, 7)[:size].replace(b"key", b"kez"))
    for at in (100, start - 1, stop, size - 100):
        old[at] = ord("#")
    if edge == "start":
        old[start - 1 : start + width] = b"key0a1b2c3d "
    else:
        old[stop - width - 1 : stop + 1] = b" key0a1b2c3d "
    new = bytearray(old)
    for at in (100, start - 1, stop, size - 100):
        new[at] = ord("z")
    found: list[tuple[int, int, int]] = []
    versions._shared_inside(bytes(new), bytes(old), 0, size, 0, size, found)
    assert (start, stop, start) in found
    assert search(bytes(old)) == [(0, start - 1 + width if edge == "start" else stop)]
    memory.hits(bytes(old), "f", search)
    assert memory.hits(bytes(new), "f", search) == search(bytes(new)) == []


def test_a_hit_ending_where_the_shared_start_ends_is_found_once():
    # The versions differ first at byte 8,192, which the shared start's coarse measure finds exactly; a
    # match ends there, and \\b after it sees a space in one version and a newline in the other.
    memory, search = _fresh_memory()
    head = b"x" * 8180 + b" key0a1b2c3d"
    assert len(head) == 8192
    rest = _filler(SMALLEST, 9)
    old, new = head + b" " + rest, head + b"\n" + rest
    assert shared_prefix(new, old) == 8192
    memory.hits(old, "f", search)
    assert sorted(memory.hits(new, "f", search)) == sorted(search(new))
    assert (0, 8192) in search(new)


_EDITS = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.floats(0, 1), st.integers(0, 9)),
                  min_size=1, max_size=6)


@pytest.fixture(scope="module")
def builtin() -> tuple[Detector, Detector]:
    rules = load_rules()
    return build_detector(rules), Detector(rules, hyperscan_db=build_detector(rules).matcher.serialize())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_EDITS, st.integers(0, 1000))
def test_versions_of_a_file_match_as_each_version_searched_whole(builtin, edits, seed):
    """Random edits to a file holding the built-in rules' examples, each version scanned by its changes
    and whole: the same matches (the examples bring every rule's literals, wide ones included)."""
    versioned, whole = builtin
    rng = random.Random(seed)
    examples = [e.encode() for r in load_rules() for e in r.examples]
    pieces = [_filler(2_000, seed + i) + b"\n" + rng.choice(examples) for i in range(40)]
    data = b"\n".join(pieces)
    path = f"f{seed}.py"
    for kind, where, n in edits:
        at = int(where * len(data))
        piece = examples[(seed + n) % len(examples)] + b"\n" + fake_aws_key_id(seed + n).encode()
        if kind == "insert":
            data = data[:at] + piece + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1 + n * 50 :]
        else:
            data = data[:at] + piece + data[at + len(piece) :]
        assert len(data) >= SMALLEST
        got = versioned.detect(data, path, versioned=True).matches
        assert [(m.rule_id, m.start, m.end, m.fingerprint) for m in got] == [
            (m.rule_id, m.start, m.end, m.fingerprint) for m in whole.detect(data, path).matches]


def test_literals_every_match_holds():
    assert required_literals(r"(?i)abc(?-i:DEFGHIJ)x") == {(b"DEFGHIJ", False)}
    assert required_literals(r"(?:foo|barbaz)[0-9]+") == {(b"foo", False), (b"barbaz", False)}
    assert required_literals(r"(?i)(?:password|credential)\s*=") == {(b"password", True), (b"credential", True)}
    assert required_literals(r"(?:xyz)?[0-9]{3}") is None  # optional: not in every match
    assert required_literals(r"[0-9]+(?=secretword)") is None  # a lookahead's text is not matched
    assert required_literals(r"(?i)tok[0-9]") is None  # a short case-blind literal tells nothing
    assert required_literals(r"(?:ab){2,}XYZW") == {(b"XYZW", False)}


@pytest.mark.parametrize("rule", [r for r in load_rules() if reach(r.pattern) is None
                                  or reach(r.pattern).width > 2048], ids=lambda r: r.id)
def test_each_wide_rules_examples_hold_one_of_its_literals(rule):
    literals = required_literals(rule.pattern)
    assert literals, "a wide rule without a literal widens every version's margin"
    import regex

    for text in rule.examples:
        for m in regex.finditer(rule.pattern.encode(), text.encode()):
            held = m.group(0)
            assert any(re.search(re.escape(lit), held, re.I if caseless else 0) for lit, caseless in literals)


def test_a_gated_files_versions_match_as_whole_and_the_memory_keeps_only_the_main_databases_hits(builtin):
    versioned, whole = builtin
    gated = {versioned.matcher.rules[i].rule.id for i in versioned.matcher._gated}
    assert "config.dockerfile-secret" in gated
    secret = fake_token(24, seed=7)
    data = _filler(SMALLEST, 5) + f"\nENV DB_PASSWORD={secret}\n".encode() + _filler(10_000, 6)
    for version in (data, data[:1000] + b"# edited\n" + data[1000:]):
        got = versioned.detect(version, "Dockerfile", versioned=True).matches
        expected = whole.detect(version, "Dockerfile").matches
        assert [(m.rule_id, m.start) for m in got] == [(m.rule_id, m.start) for m in expected]
        assert "config.dockerfile-secret" in {m.rule_id for m in got}
    memory = versioned.matcher._versions
    assert memory is not None
    rules = versioned.matcher.rules
    kept = {rules[e].rule.id for e, _ in memory._last["Dockerfile"][1] if e < len(rules)}
    assert not kept & gated
