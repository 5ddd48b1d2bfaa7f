"""The triage session on its own: filters, sorting, selection, decisions and undo, with an in-memory sink."""

from __future__ import annotations

import pytest

from secretsweep.model import BlobId, Confidence, Decision, Finding, Occurrence, Origin, Severity, Status
from secretsweep.triage import UNDECIDED, MemorySink, TriageSession


def finding(n: int, rule: str = "aws.access-key-id", path: str = "app/settings.py", *, head: bool | None = True,
            conf: Confidence = Confidence.HIGH, sev: Severity = Severity.HIGH, date: str | None = None,
            locations: int = 1) -> Finding:
    occ = tuple(Occurrence(BlobId(f"{n:040x}"), 10, 20, 3 + i, 5,
                           Origin("history", path, f"{n:040x}", "Alice", "a@example.com",
                                  date or f"2024-01-{1 + n % 28:02d}T00:00:00Z", head))
                for i in range(locations))
    return Finding(f"v1:{n:040x}", rule, "XXXX…(20)", "key = XXXX…(20)", sev, conf, occ)


@pytest.fixture
def findings() -> list[Finding]:
    return [
        finding(1, "aws.access-key-id", "app/settings.py", head=False, date="2024-01-03"),
        finding(2, "generic.password-assignment", "app/db.py", conf=Confidence.MEDIUM, date="2024-01-01",
                locations=3),
        finding(3, "github.token", "scripts/deploy.sh", head=None, sev=Severity.CRITICAL, date="2024-01-02"),
        finding(4, "generic.password-config", "config/.env", conf=Confidence.LOW, date="2024-01-04"),
    ]


def fps(fs: list[Finding]) -> list[str]:
    return [f.fingerprint for f in fs]


def test_default_order_is_first_seen(findings):
    s = TriageSession(findings, MemorySink())
    assert fps(s.visible()) == [findings[1].fingerprint, findings[2].fingerprint, findings[0].fingerprint,
                                findings[3].fingerprint]


def test_sort_by_column_and_reverse(findings):
    s = TriageSession(findings, MemorySink())
    s.sort_by("rule")
    assert [f.rule_id for f in s.visible()] == sorted(f.rule_id for f in findings)
    s.sort_by("rule")  # again: reversed
    assert [f.rule_id for f in s.visible()] == sorted((f.rule_id for f in findings), reverse=True)
    s.sort_by("severity")
    assert s.visible()[0].rule_id == "github.token"
    s.sort_by("count", reverse=True)
    assert s.visible()[0].rule_id == "generic.password-assignment"
    with pytest.raises(ValueError):
        s.sort_by("nope")


def test_filters(findings):
    s = TriageSession(findings, MemorySink())
    s.set_filters(rule="generic.")
    assert {f.rule_id for f in s.visible()} == {"generic.password-assignment", "generic.password-config"}
    s.clear_filters()
    s.set_filters(path_prefix="app/")
    assert len(s.visible()) == 2
    s.clear_filters()
    s.set_filters(in_head=False)
    assert fps(s.visible()) == [findings[0].fingerprint]
    s.set_filters(in_head=True)
    assert {f.fingerprint for f in s.visible()} == {findings[1].fingerprint, findings[3].fingerprint}
    s.clear_filters()
    s.set_filters(min_confidence="medium")
    assert findings[3] not in s.visible() and len(s.visible()) == 3
    s.clear_filters()
    s.set_filters(search="DEPLOY")
    assert fps(s.visible()) == [findings[2].fingerprint]
    s.set_filters(search="alice password")  # every word must match
    assert len(s.visible()) == 2
    assert "password" in s.filters.describe()


def test_decision_filter_follows_decisions(findings):
    s = TriageSession(findings, MemorySink())
    s.set_filters(decision=UNDECIDED)
    assert len(s.visible()) == 4
    s.decide([findings[0].fingerprint], Status.CONFIRMED)
    assert len(s.visible()) == 3
    s.set_filters(decision="confirmed")
    assert fps(s.visible()) == [findings[0].fingerprint]


def test_decide_and_undo_restore_previous_decisions(findings):
    earlier = Decision(findings[1].fingerprint, findings[1].rule_id, Status.IGNORED, "test fixture", "bob", "t0")
    sink = MemorySink({earlier.fingerprint: earlier})
    s = TriageSession(findings, sink)
    changed = s.decide([findings[0].fingerprint, findings[1].fingerprint], Status.FALSE_POSITIVE, "", "me", "t1")
    assert changed == [findings[0].fingerprint, findings[1].fingerprint]
    assert sink.get(findings[0].fingerprint).status is Status.FALSE_POSITIVE
    assert sink.get(findings[1].fingerprint).decided_by == "me"
    s.decide([findings[0].fingerprint], Status.CONFIRMED, by="me", at="t2")
    assert s.undo() == [findings[0].fingerprint]
    assert sink.get(findings[0].fingerprint).status is Status.FALSE_POSITIVE
    s.undo()
    assert sink.get(findings[0].fingerprint) is None  # had no decision: removed
    assert sink.get(findings[1].fingerprint) == earlier  # had one: restored as it was
    assert s.undo() is None and not s.can_undo


def test_deciding_the_same_again_changes_nothing_and_migrated_stays(findings):
    migrated = Decision(findings[2].fingerprint, findings[2].rule_id, Status.MIGRATED, secret_name="x")
    s = TriageSession(findings, MemorySink({migrated.fingerprint: migrated}))
    assert s.decide([findings[2].fingerprint], Status.FALSE_POSITIVE) == []
    assert s.decision(findings[2].fingerprint) == migrated
    s.decide([findings[0].fingerprint], Status.CONFIRMED, by="me", at="t")
    assert s.decide([findings[0].fingerprint], Status.CONFIRMED, by="me", at="t") == []
    assert s.decide(["v1:unknown"], Status.CONFIRMED) == []


def test_selection_and_targets(findings):
    s = TriageSession(findings, MemorySink())
    assert s.targets(findings[0].fingerprint) == [findings[0].fingerprint]
    assert s.toggle(findings[2].fingerprint) is True
    assert s.targets(findings[0].fingerprint) == [findings[2].fingerprint]
    assert s.toggle(findings[2].fingerprint) is False
    s.set_filters(rule="generic.")
    s.select_all_visible()
    assert s.selected == {findings[1].fingerprint, findings[3].fingerprint}
    s.select_all_visible()  # again: unselect them
    assert not s.selected
    s.select_all_visible()
    s.decide(s.targets(None), Status.FALSE_POSITIVE)
    c = s.counts()
    assert (c.total, c.shown, c.selected, c.undecided, c.false_positive) == (4, 2, 2, 2, 2)


def test_batched_sink_gets_one_write_per_decision(findings):
    class Batched(MemorySink):
        writes = 0

        def apply(self, changes):
            self.writes += 1
            for fp, d in changes.items():
                if d is None:
                    self.remove(fp)
                else:
                    self.decide(d)

    sink = Batched()
    s = TriageSession(findings, sink)
    s.decide(fps(findings), Status.CONFIRMED)
    s.undo()
    assert sink.writes == 2 and not sink.entries


def test_unreviewed_counts_as_undecided(findings):
    d = Decision(findings[0].fingerprint, findings[0].rule_id, Status.UNREVIEWED)
    s = TriageSession(findings, MemorySink({d.fingerprint: d}))
    assert s.counts().undecided == 4
    s.set_filters(decision=UNDECIDED)
    assert len(s.visible()) == 4


def test_ten_thousand_findings():
    many = [finding(i, f"rule.{i % 7}", f"src/{i % 50}/f{i}.py", head=bool(i % 2)) for i in range(10_000)]
    s = TriageSession(many, MemorySink())
    s.set_filters(rule="rule.3", in_head=True, path_prefix="src/1")
    shown = s.visible()
    assert shown and all(f.rule_id == "rule.3" and f.first.origin.path.startswith("src/1") for f in shown)
    s.select_all_visible()
    assert len(s.decide(s.targets(None), Status.FALSE_POSITIVE)) == len(shown)
    s.sort_by("location")
    assert s.counts().false_positive == len(shown)
