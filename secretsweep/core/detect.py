"""The detector: raw matches, filtered and located, each with its fingerprint and redacted forms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from secretsweep.core import decode, filters
from secretsweep.core.entropy import shannon
from secretsweep.core.fingerprint import fingerprint, mask, masked_line
from secretsweep.core.matcher import CompiledRule, Matcher, RawMatch
from secretsweep.core.validators import VALIDATORS
from secretsweep.model import Confidence, Match, Rule

# Values judged by the filters that are remembered at a time, per process.
_VERDICTS_KEPT = 1 << 15


@dataclass(slots=True)
class Detection:
    """What one blob yielded: matches in position order, and the rules abandoned on it."""

    matches: list[Match] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)


class Detector:
    """Runs a rule set over bytes. Pure: the same bytes and path always give the same matches."""

    def __init__(self, rules: Sequence[Rule], *, hyperscan_db: bytes | None = None, use_hyperscan: bool = True):
        self.matcher = Matcher(rules, hyperscan_db=hyperscan_db, use_hyperscan=use_hyperscan)
        self._verdicts: dict[tuple[int, bytes], bool] = {}

    def detect(self, data: bytes, path: str | None = None, *, decode_depth: int = 2,
               versioned: bool = False) -> Detection:
        """Matches in `data`, and in base64, hex or percent-encoded text inside it (to `decode_depth`
        levels), those reported at the encoded text's place. `versioned`: `data` is the next version of
        the file at `path`, searched by what changed (`Matcher.scan`)."""
        found, hints = self._detect_plain(data, path, versioned)
        if decode_depth > 0 and hints:
            self._detect_encoded(data, path, decode_depth, hints, found)
        return found

    def _detect_encoded(self, data: bytes, path: str | None, depth: int, hints: set[str], found: Detection) -> None:
        known = {m.fingerprint for m in found.matches}
        markers = None
        for start, end, decoded, kind in decode.segments(data, hints):
            inner = self.detect(decoded, path, decode_depth=depth - 1)
            found.timed_out.extend(inner.timed_out)
            for m in inner.matches:
                if m.fingerprint in known:
                    continue  # the same secret stands in plain text too
                known.add(m.fingerprint)
                if markers is None:
                    markers = filters.has_any_marker(data)
                line, column, allowed = _place(data, start, markers)
                found.matches.append(replace(
                    m, start=start, end=end, line=line, column=column, allowed_by=allowed,
                    preview=masked_line(data, start, end, f"{m.redacted} ({kind})")))
        found.matches.sort(key=lambda m: (m.start, m.rule_id))

    def _detect_plain(self, data: bytes, path: str | None, versioned: bool = False) -> tuple[Detection, set[str]]:
        raw, timed_out, hints = self.matcher.scan(data, path, versioned=versioned)
        if not raw:
            return Detection([], timed_out), hints
        kept = [r for r in raw if self._passes(r, data, path)]
        kept = _drop_shadowed(kept, self.matcher.rules)
        kept.sort(key=lambda r: (r.start, r.index))
        markers = bool(kept) and filters.has_any_marker(data)
        # A generic finding in a test or fixture is most likely made up for the test: keep it, quieter.
        downgrade = bool(kept) and filters.is_test_path(path)
        return Detection([self._locate(r, data, markers, downgrade) for r in kept], timed_out), hints

    def _passes(self, raw: RawMatch, data: bytes, path: str | None) -> bool:
        rule = self.matcher.rules[raw.index].rule
        secret = data[raw.start : raw.end]
        # A history holds the same value in hundreds of versions of a file: judge it once (held in this
        # process's memory only, like the blob it came from).
        key = (raw.index, secret)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _VERDICTS_KEPT:
                self._verdicts.clear()
            verdict = self._verdicts[key] = _value_passes(rule, secret)
        if not verdict:
            return False
        if rule.generic or rule.confidence is Confidence.LOW:
            if (filters.is_lock_file(path) or filters.in_string_list(data, raw.match_start, raw.match_end)
                    or filters.is_called(secret, data[raw.end : raw.end + 1])):
                return False
            line_start = data.rfind(b"\n", 0, raw.match_start) + 1
            line_end = data.find(b"\n", raw.match_end)
            if filters.reads_environment(data[line_start : line_end if line_end != -1 else len(data)]):
                return False
        return True

    def _locate(self, raw: RawMatch, data: bytes, markers: bool, downgrade: bool) -> Match:
        rule = self.matcher.rules[raw.index].rule
        secret = data[raw.start : raw.end]
        redacted = mask(secret)
        line, column, allowed = _place(data, raw.start, markers)
        return Match(
            rule_id=rule.id,
            start=raw.start,
            end=raw.end,
            line=line,
            column=column,
            secret=secret,
            redacted=redacted,
            preview=masked_line(data, raw.start, raw.end, redacted),
            fingerprint=fingerprint(rule.id, secret),
            severity=rule.severity,
            confidence=Confidence.LOW if downgrade and rule.generic else rule.confidence,
            allowed_by=allowed,
        )


def _value_passes(rule: Rule, secret: bytes) -> bool:
    """The filters that judge the value alone."""
    if rule.min_entropy is not None and shannon(secret) < rule.min_entropy:
        return False
    if rule.validator is not None and not VALIDATORS[rule.validator](secret):
        return False
    if filters.is_placeholder(secret) or filters.is_template(secret) or filters.is_repetitive(secret):
        return False
    if rule.generic or rule.confidence is Confidence.LOW:
        # Context filters only for generic rules: a vendor-shaped token is a token wherever it sits.
        return not (filters.looks_like_identifier(secret) or filters.looks_like_path(secret)
                    or filters.is_word_like(secret) or filters.is_foreign_word(secret) or filters.names_a_secret(secret)
                    or filters.is_not_a_value(secret) or filters.is_public(secret))
    return True


def _place(data: bytes, start: int, markers: bool) -> tuple[int, int, str | None]:
    """Line and column (1-based, column in characters) of `start`, and the inline allow covering its line."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    if line_end == -1:
        line_end = len(data)
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    allowed = filters.allow_marker(data, line_start, line_end) if markers else None
    return data.count(b"\n", 0, start) + 1, column, allowed


def _rank(rule: Rule) -> tuple[int, int]:
    return rule.confidence.rank, 0 if rule.generic else 1


def _drop_shadowed(raw: list[RawMatch], rules: Sequence[CompiledRule]) -> list[RawMatch]:
    """Where secret spans overlap, keep only the best rule's match: the most confident, a vendor rule
    before a generic one, then the first rule; so one value is not reported twice."""
    if len(raw) < 2:
        return raw
    order = sorted(raw, key=lambda r: (tuple(-x for x in _rank(rules[r.index].rule)), r.index, r.start))
    kept: list[RawMatch] = []
    for r in order:
        rank = _rank(rules[r.index].rule)
        shadowed = any(
            k.start < r.end and r.start < k.end and _rank(rules[k.index].rule) > rank
            or (k.start == r.start and k.end == r.end)
            for k in kept
        )
        if not shadowed:
            kept.append(r)
    return kept
