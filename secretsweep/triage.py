"""Triage session: the findings under review, their filters, sort order, selection and decisions.

Pure logic over `secretsweep.model`: no terminal, no files. Decisions go to a `DecisionSink`
(the baseline, in the CLI), which persists each one as soon as it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from secretsweep.model import Confidence, Decision, Finding, Severity, Status

UNDECIDED = "undecided"  # the decision filter's value for "no decision, or unreviewed"

SORT_KEYS = ("rule", "severity", "location", "commit", "date", "count", "head", "decision")

_SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.HIGH: 2, Severity.MEDIUM: 1, Severity.LOW: 0}


@runtime_checkable
class DecisionSink(Protocol):
    """Where decisions live. `decide` and `remove` persist before they return."""

    @property
    def entries(self) -> Mapping[str, Decision]: ...

    def get(self, fingerprint: str) -> Decision | None: ...

    def decide(self, decision: Decision) -> None: ...

    def remove(self, fingerprint: str) -> None: ...

    def reload(self) -> bool | None:
        """Pick up what others wrote; may return False when nothing changed."""
        ...


class MemorySink:
    """A DecisionSink kept in memory: for tests and previews."""

    def __init__(self, entries: Mapping[str, Decision] | None = None) -> None:
        self.entries: dict[str, Decision] = dict(entries or {})

    def get(self, fingerprint: str) -> Decision | None:
        return self.entries.get(fingerprint)

    def decide(self, decision: Decision) -> None:
        self.entries[decision.fingerprint] = decision

    def remove(self, fingerprint: str) -> None:
        self.entries.pop(fingerprint, None)

    def reload(self) -> bool:
        return False


@dataclass(frozen=True)
class Filters:
    rule: str = ""                 # substring of the rule id
    decision: str = ""             # "" any, "undecided", or a Status value
    path_prefix: str = ""
    in_head: bool | None = None    # None: either
    min_confidence: Confidence = Confidence.LOW
    search: str = ""               # case-insensitive, over rule, paths, redacted preview, commit, author

    def describe(self) -> str:
        parts = []
        if self.rule:
            parts.append(f"rule~{self.rule}")
        if self.decision:
            parts.append(f"decision={self.decision}")
        if self.path_prefix:
            parts.append(f"path={self.path_prefix}*")
        if self.in_head is not None:
            parts.append("in HEAD" if self.in_head else "not in HEAD")
        if self.min_confidence is not Confidence.LOW:
            parts.append(f"confidence>={self.min_confidence.value}")
        if self.search:
            parts.append(f"/{self.search}")
        return " ".join(parts)


@dataclass(frozen=True)
class Counts:
    total: int
    shown: int
    selected: int
    undecided: int
    confirmed: int
    false_positive: int
    ignored: int
    migrated: int


@dataclass
class _UndoStep:
    previous: dict[str, Decision | None] = field(default_factory=dict)


def decision_label(d: Decision | None) -> str:
    if d is None or d.status is Status.UNREVIEWED:
        return UNDECIDED
    return d.status.value.replace("_", " ")


class TriageSession:
    """Findings plus decisions, with the state of one person's review."""

    def __init__(self, findings: Sequence[Finding], decisions: DecisionSink, *,
                 filters: Filters | None = None) -> None:
        self.findings: list[Finding] = list(findings)
        self.by_fp: dict[str, Finding] = {f.fingerprint: f for f in self.findings}
        self.sink = decisions
        self.filters = filters or Filters()
        self.sort_key = "date"
        self.sort_reverse = False
        self.selected: set[str] = set()
        self._undo: list[_UndoStep] = []
        self._haystack: dict[str, str] = {}
        self._visible: list[Finding] | None = None
        self.on_change: Callable[[], None] | None = None

    # -- decisions ----------------------------------------------------------------------------
    def decision(self, fingerprint: str) -> Decision | None:
        return self.sink.get(fingerprint)

    def status(self, fingerprint: str) -> Status | None:
        d = self.sink.get(fingerprint)
        return d.status if d else None

    def decide(self, fingerprints: Iterable[str], status: Status, reason: str = "", by: str = "",
               at: str = "") -> list[str]:
        """Record `status` for these findings (one undo step); returns the fingerprints changed.

        Findings already migrated keep that record: a migration is undone by `migrate`, not here.
        """
        step = _UndoStep()
        changes: list[Decision] = []
        for fp in dict.fromkeys(fingerprints):
            f = self.by_fp.get(fp)
            if f is None:
                continue
            prev = self.sink.get(fp)
            if prev is not None and prev.status is Status.MIGRATED:
                continue
            new = Decision(fp, f.rule_id, status, reason, by, at)
            if prev is not None:
                new = replace(prev, status=status, reason=reason, decided_by=by, decided_at=at)
            if prev == new:
                continue
            step.previous[fp] = prev
            changes.append(new)
        if not changes:
            return []
        self._write(changes, [])
        self._undo.append(step)
        self._decisions_changed()
        return [d.fingerprint for d in changes]

    def undo(self) -> list[str] | None:
        """Undo the last decide: each finding gets its previous decision back, or none. None if nothing to undo."""
        if not self._undo:
            return None
        step = self._undo.pop()
        restore = [d for d in step.previous.values() if d is not None]
        drop = [fp for fp, d in step.previous.items() if d is None]
        self._write(restore, drop)
        self._decisions_changed()
        return list(step.previous)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def _write(self, decisions: list[Decision], removals: list[str]) -> None:
        apply = getattr(self.sink, "apply", None)
        if callable(apply):  # a sink that can persist a batch at once
            changes: dict[str, Decision | None] = {d.fingerprint: d for d in decisions}
            changes.update(dict.fromkeys(removals))
            apply(changes)
            return
        for d in decisions:
            self.sink.decide(d)
        for fp in removals:
            self.sink.remove(fp)

    def reload(self) -> bool:
        """Pick up decisions written by others; True if anything may have changed."""
        changed = self.sink.reload()
        if changed is False:
            return False
        self._decisions_changed()
        return True

    def _decisions_changed(self) -> None:
        if self.filters.decision or self.sort_key == "decision":
            self._visible = None
        if self.on_change is not None:
            self.on_change()

    # -- filters and sorting ------------------------------------------------------------------
    def set_filters(self, **changes: Any) -> None:
        if "min_confidence" in changes and not isinstance(changes["min_confidence"], Confidence):
            changes["min_confidence"] = Confidence(changes["min_confidence"])
        self.filters = replace(self.filters, **changes)
        self._visible = None

    def clear_filters(self) -> None:
        self.filters = Filters()
        self._visible = None

    def sort_by(self, key: str, reverse: bool | None = None) -> None:
        """Sort by `key`; the same key again flips the order."""
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key!r}")
        if reverse is None:
            reverse = (not self.sort_reverse) if key == self.sort_key else False
        self.sort_key, self.sort_reverse = key, reverse
        self._visible = None

    def visible(self) -> list[Finding]:
        """The findings passing every filter, in the current order."""
        if self._visible is None:
            rows = [f for f in self.findings if self._passes(f)]
            rows.sort(key=self._sort_value, reverse=self.sort_reverse)
            self._visible = rows
        return self._visible

    def _passes(self, f: Finding) -> bool:
        flt = self.filters
        if f.confidence.rank < flt.min_confidence.rank:
            return False
        if flt.rule and flt.rule.lower() not in f.rule_id.lower():
            return False
        if flt.path_prefix and not any(o.origin.path.startswith(flt.path_prefix) for o in f.occurrences):
            return False
        if flt.in_head is not None and in_head(f) is not flt.in_head:
            return False
        if flt.decision:
            s = self.status(f.fingerprint)
            if (UNDECIDED if s is None or s is Status.UNREVIEWED else s.value) != flt.decision:
                return False
        if flt.search:
            hay = self._haystack.get(f.fingerprint)
            if hay is None:
                hay = self._haystack[f.fingerprint] = _haystack(f)
            if not all(word in hay for word in flt.search.lower().split()):
                return False
        return True

    def _sort_value(self, f: Finding) -> Any:
        k = self.sort_key
        o = f.first
        tie = (o.origin.date or "9999", o.origin.path, o.line, f.fingerprint)
        if k == "rule":
            return (f.rule_id, *tie)
        if k == "severity":
            return (-_SEVERITY_RANK[f.severity], -f.confidence.rank, *tie)
        if k == "location":
            return (o.origin.path, o.line, f.fingerprint)
        if k == "commit":
            return (o.origin.commit or "", *tie)
        if k == "count":
            return (len(f.occurrences), *tie)
        if k == "head":
            return (in_head(f) is not True, *tie)
        if k == "decision":
            return (decision_label(self.sink.get(f.fingerprint)), *tie)
        return tie

    # -- selection ----------------------------------------------------------------------------
    def toggle(self, fingerprint: str) -> bool:
        """Select or unselect one finding; True if it is now selected."""
        if fingerprint in self.selected:
            self.selected.discard(fingerprint)
            return False
        if fingerprint in self.by_fp:
            self.selected.add(fingerprint)
            return True
        return False

    def select_all_visible(self) -> None:
        """Select every finding passing the filters (or unselect them when all already are)."""
        shown = {f.fingerprint for f in self.visible()}
        if shown and shown <= self.selected:
            self.selected -= shown
        else:
            self.selected |= shown

    def clear_selection(self) -> None:
        self.selected.clear()

    def targets(self, current: str | None) -> list[str]:
        """What a decision applies to: the selection, else the finding under the cursor."""
        if self.selected:
            order = {f.fingerprint: i for i, f in enumerate(self.findings)}
            return sorted(self.selected, key=lambda fp: order.get(fp, 0))
        return [current] if current else []

    # -- summary ------------------------------------------------------------------------------
    def counts(self) -> Counts:
        tally = dict.fromkeys(("undecided", "confirmed", "false_positive", "ignored", "migrated"), 0)
        for f in self.findings:
            s = self.status(f.fingerprint)
            tally["undecided" if s is None or s is Status.UNREVIEWED else s.value] += 1
        return Counts(len(self.findings), len(self.visible()), len(self.selected), **tally)


def in_head(f: Finding) -> bool | None:
    """Whether any location is still at HEAD (None when the store does not know)."""
    known = [o.origin.in_head for o in f.occurrences if o.origin.in_head is not None]
    if not known:
        return None
    return any(known)


def _haystack(f: Finding) -> str:
    parts = [f.rule_id, f.redacted, f.preview, f.fingerprint, f.severity.value, f.confidence.value]
    for o in f.occurrences:
        parts.extend((o.origin.path, o.origin.commit or "", o.origin.author or "", o.origin.email or ""))
    return "\n".join(parts).lower()
