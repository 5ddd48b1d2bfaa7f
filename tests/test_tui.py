"""The triage app driven through Textual's Pilot over a real repository, its findings store and baseline."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("textual")

from rich.console import Console  # noqa: E402
from textual import events  # noqa: E402

from sample_repos.build import build  # noqa: E402
from secretsweep.baseline import Baseline  # noqa: E402
from secretsweep.cli_triage import BaselineSink, context_loader  # noqa: E402
from secretsweep.model import BlobId, Confidence, Decision, Finding, Occurrence, Origin, Severity, Status  # noqa: E402
from secretsweep.sources.history import open_repo  # noqa: E402
from secretsweep.store import FindingsStore, default_path  # noqa: E402
from secretsweep.triage import TriageSession  # noqa: E402
from secretsweep.tui.app import TriageApp  # noqa: E402
from secretsweep.tui.modals.reason import ReasonModal  # noqa: E402
from secretsweep.tui.screens.help import HelpScreen  # noqa: E402
from secretsweep.tui.screens.plan import PlanScreen  # noqa: E402
from secretsweep.tui.widgets.code_view import CodeView  # noqa: E402

SIZE = (120, 36)


def sync(fn):
    """Runs an async test in its own event loop (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return run

CLOCK = "2024-05-01T12:00:00Z"


@dataclass
class Sample:
    repo: Path
    findings: list[Finding]
    planted: set[str]  # every secret's plaintext: what must never be on screen unrevealed


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    repo = build("webapp", tmp_path_factory.mktemp("tui") / "webapp")
    env = {**os.environ, "SECRETSWEEP_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "cache"),
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    scan = [sys.executable, "-m", "secretsweep", "scan"]
    res = subprocess.run([*scan, "--history", str(repo), "-q"], capture_output=True, env=env)
    assert res.returncode == 1, res.stderr
    res = subprocess.run([*scan, str(repo), "-f", "json", "--show-secrets", "-q"], capture_output=True, env=env)
    planted = {f["secret"] for f in json.loads(res.stdout)["findings"]}
    store = FindingsStore(default_path(repo))
    try:
        findings = store.load_findings()
    finally:
        store.close()
    git_dir = open_repo(repo).git_dir
    for f in findings:  # history-only secrets too, read from their blobs
        for o in f.occurrences:
            data = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", o.blob_id],
                                  capture_output=True, check=True).stdout
            planted.add(data[o.start:o.end].decode())
    assert len(findings) >= 8 and len(planted) >= 8
    return Sample(repo, findings, planted)


def make_app(sample: Sample, baseline: Path, **kwargs) -> TriageApp:
    repo = open_repo(sample.repo)
    session = TriageSession(sample.findings, BaselineSink(Baseline.load(baseline)))
    return TriageApp(session, context_loader(repo.git_dir, repo.work_tree), who="tester", clock=lambda: CLOCK,
                     poll_interval=0, **kwargs)


def on_disk(baseline: Path) -> dict[str, dict]:
    return json.loads(baseline.read_text())["entries"] if baseline.exists() else {}


def screen_text(app: TriageApp) -> str:
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def notes(app: TriageApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def settle(pilot) -> None:
    await pilot.pause(0.1)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@sync
async def test_decisions_land_on_disk_and_undo(webapp, tmp_path):
    bl = tmp_path / "baseline.json"
    app = make_app(webapp, bl)
    async with app.run_test(size=SIZE) as pilot:
        first = app.table.current
        await pilot.press("c")
        assert on_disk(bl)[first] == {"rule": app.session.by_fp[first].rule_id, "status": "confirmed",
                                      "by": "tester", "at": CLOCK}
        second = app.table.current
        assert second != first  # the cursor moved on
        await pilot.press("f")
        assert on_disk(bl)[second]["status"] == "false_positive"
        third = app.table.current
        await pilot.press("i")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # no reason: refused
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"test fixture", "enter")
        assert on_disk(bl)[third] == {"rule": app.session.by_fp[third].rule_id, "status": "ignored",
                                      "reason": "test fixture", "by": "tester", "at": CLOCK}
        await pilot.press("u")
        assert third not in on_disk(bl)
        await pilot.press("u")
        assert second not in on_disk(bl) and first in on_disk(bl)
        c = app.session.counts()
        assert (c.confirmed, c.false_positive, c.ignored) == (1, 0, 0)
        assert "confirmed 1" in screen_text(app)


@sync
async def test_multi_select_and_select_all_matching(webapp, tmp_path):
    bl = tmp_path / "baseline.json"
    app = make_app(webapp, bl)
    async with app.run_test(size=SIZE) as pilot:
        rows = list(app.table.shown)
        await pilot.press("space", "space", "f")
        assert {fp for fp, e in on_disk(bl).items() if e["status"] == "false_positive"} == set(rows[:2])
        assert not app.session.selected
        await pilot.press("slash", *"generic", "enter")
        await settle(pilot)
        generic = {f.fingerprint for f in webapp.findings if "generic" in f.rule_id}
        assert set(app.table.shown) == generic
        await pilot.press("a", "c")
        confirmed = {fp for fp, e in on_disk(bl).items() if e["status"] == "confirmed"}
        assert confirmed == generic


@sync
async def test_filter_modal_and_search(webapp, tmp_path):
    app = make_app(webapp, tmp_path / "b.json")
    async with app.run_test(size=SIZE) as pilot:
        total = app.table.row_count
        await pilot.press("F")
        await pilot.press(*"aws.", "enter")
        await settle(pilot)
        assert app.table.row_count == 2
        assert all(app.session.by_fp[fp].rule_id.startswith("aws.") for fp in app.table.shown)
        await pilot.press("x")
        assert app.table.row_count == total
        await pilot.press("slash", *"frontend", "enter")
        await settle(pilot)
        assert app.table.row_count == 1
        assert "frontend/config.js" in screen_text(app)
        await pilot.press("s")  # sort by the next column: still the same rows
        assert app.table.row_count == 1


@sync
async def test_secrets_masked_until_revealed_and_hidden_again(webapp, tmp_path):
    app = make_app(webapp, tmp_path / "b.json")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(app.table.row_count):
            await settle(pilot)
            text = screen_text(app) + app.query_one(CodeView).plain
            assert not [s for s in webapp.planted if s in text], "a secret is on screen unrevealed"
            await pilot.press("down")
        await pilot.press("home")
        await settle(pilot)
        f = app.session.by_fp[app.table.current]
        secret = next(s for s in webapp.planted if f.redacted.split("…")[0] in s[:8] and len(s) ==
                      int(f.redacted.rsplit("(", 1)[1].rstrip(")")))
        await pilot.press("r")
        await settle(pilot)
        assert secret in app.query_one(CodeView).plain
        assert secret in screen_text(app)
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("up")
        await settle(pilot)
        assert secret not in screen_text(app) and secret not in app.query_one(CodeView).plain


@sync
async def test_baseline_changed_on_disk_is_merged(webapp, tmp_path):
    bl = tmp_path / "baseline.json"
    app = make_app(webapp, bl)
    async with app.run_test(size=SIZE) as pilot:
        rows = list(app.table.shown)
        other = Baseline.load(bl)  # another person deciding meanwhile
        f_last = app.session.by_fp[rows[-1]]
        other.decide(Decision(f_last.fingerprint, f_last.rule_id, Status.FALSE_POSITIVE, "", "someone", "t"))
        other.save()
        await pilot.press("c")
        entries = on_disk(bl)
        assert entries[rows[0]]["status"] == "confirmed"
        assert entries[rows[-1]] == {"rule": f_last.rule_id, "status": "false_positive", "by": "someone", "at": "t"}
        assert app.session.status(rows[-1]) is Status.FALSE_POSITIVE  # the table shows it too
        assert "false positive 1" in screen_text(app)
        other2 = Baseline.load(bl)  # and a change with no action here: picked up by the poll
        other2.decide(Decision(rows[1], app.session.by_fp[rows[1]].rule_id, Status.IGNORED, "why", "x", "t"))
        other2.save()
        app._poll()
        await pilot.pause()
        assert "ignored 1" in screen_text(app)


@sync
async def test_the_poll_runs_on_its_own(webapp, tmp_path):
    bl = tmp_path / "baseline.json"
    app = make_app(webapp, bl)
    app.poll_interval = 0.05
    async with app.run_test(size=SIZE) as pilot:
        fp = list(app.table.shown)[0]
        other = Baseline.load(bl)
        other.decide(Decision(fp, app.session.by_fp[fp].rule_id, Status.IGNORED, "why", "x", "t"))
        other.save()
        for _ in range(40):
            await pilot.pause(0.05)
            if app.session.status(fp) is Status.IGNORED:
                break
        assert "ignored 1" in screen_text(app)


@sync
async def test_tiny_terminal_says_so(webapp, tmp_path):
    bl = tmp_path / "b.json"
    app = make_app(webapp, bl)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        assert "at least 80x24" in screen_text(app)
        await pilot.press("c")
        assert not bl.exists()
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert "at least 80x24" not in screen_text(app)


@sync
async def test_migration_hand_off(webapp, tmp_path):
    app = make_app(webapp, tmp_path / "b.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c", "up", "m")
        await pilot.pause()
        assert "migrate is not available" in notes(app)

    calls: list[tuple[str, list[str]]] = []

    def preview(fps):
        calls.append(("plan", fps))
        return "PLAN: move 1 secret"

    def apply(fps):
        calls.append(("apply", fps))
        return "DONE: 1 migrated"

    app = make_app(webapp, tmp_path / "b.json", plan_preview=preview, apply_migration=apply)
    async with app.run_test(size=SIZE) as pilot:
        fp = app.table.current
        assert app.session.status(fp) is Status.CONFIRMED  # from the first run, on disk
        await pilot.press("down", "m")  # not confirmed: nothing to plan
        await settle(pilot)
        assert calls == []
        await pilot.press("up", "m")
        await settle(pilot)
        assert isinstance(app.screen, PlanScreen) and calls == [("plan", [fp])]
        assert "PLAN: move 1 secret" in screen_text(app)
        await pilot.click("#apply")
        await pilot.press("y")
        await settle(pilot)
        assert calls[-1] == ("apply", [fp])
        assert "DONE: 1 migrated" in screen_text(app)


@sync
async def test_help_screen(webapp, tmp_path):
    app = make_app(webapp, tmp_path / "b.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def synthetic(n: int) -> list[Finding]:
    out = []
    for i in range(n):
        occ = Occurrence(BlobId(f"{i % 100:040x}"), 4, 12, 1, 5, Origin("history", f"src/m{i % 40}/f{i}.py",
                         f"{i:040x}", "Dev", "dev@example.com", f"2024-{1 + i % 12:02d}-01", bool(i % 3)))
        out.append(Finding(f"v1:{i:040x}", f"rule.{i % 9}", "vvvv…(8)", "x = vvvv…(8)", Severity.HIGH,
                           Confidence.HIGH if i % 2 else Confidence.MEDIUM, (occ,)))
    return out


@sync
async def test_ten_thousand_findings(tmp_path):
    bl = tmp_path / "b.json"
    findings = synthetic(10_000)
    session = TriageSession(findings, BaselineSink(Baseline.load(bl)))
    app = TriageApp(session, lambda occ: (b"x = 'vvvvvvvv'\n" * 3, "python"), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        assert app.table.row_count == 10_000
        await pilot.press("slash", *"rule.3", "enter")
        await settle(pilot)
        expected = [f for f in findings if f.rule_id == "rule.3"]
        assert app.table.row_count == len(expected)
        await pilot.press("a", "f")
        assert len(on_disk(bl)) == len(expected)
        await pilot.press("pagedown", "pagedown", "end", "u")
        assert on_disk(bl) == {}
        await pilot.press("x")
        assert app.table.row_count == 10_000


@sync
async def test_text_arriving_with_the_slash_goes_to_the_search(tmp_path):
    # Pasted, or typed fast over a slow link: the keys come in one read, before "/" has been acted on.
    # They must fill the box, never act as the table's keys ("c" would confirm the current finding).
    bl = tmp_path / "b.json"
    findings = synthetic(40)
    session = TriageSession(findings, BaselineSink(Baseline.load(bl)))
    app = TriageApp(session, lambda occ: (b"x = 'vvvvvvvv'\n", "python"), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        for key, char in [("slash", "/"), ("c", "c"), ("a", "a"), ("slash", "/"), ("r", "r"), ("u", "u"),
                          ("l", "l"), ("e", "e"), ("full_stop", "."), ("3", "3")]:
            event = events.Key(key, char)
            event.set_sender(app)
            app._driver.send_message(event)  # as the terminal driver does, without waiting in between
        await pilot.pause(0.4)
        await settle(pilot)
        assert app.query_one("#search").value == "ca/rule.3"
        assert not app.session.selected and not bl.exists()  # nothing selected, nothing decided


@sync
async def test_a_search_still_waiting_when_the_app_closes_is_dropped(tmp_path):
    # The search waits for typing to pause. Closing the app removes the widgets first; a wait still
    # running then must end with the search box, not look for it afterwards (seen as a crash on exit).
    session = TriageSession(synthetic(40), BaselineSink(Baseline.load(tmp_path / "b.json")))
    app = TriageApp(session, lambda occ: (b"x = 'vvvvvvvv'\n", "python"), poll_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"rule.3")
        await app.query_one("#search").remove()  # what closing does to it, before the app's own timers stop
        await pilot.pause(0.4)
        assert app.table.row_count == 40


# -- snapshots ------------------------------------------------------------------------------------

def test_snapshot_main_screen(webapp, tmp_path, snap_compare):
    assert snap_compare(make_app(webapp, tmp_path / "b.json"), terminal_size=(120, 36))


def test_snapshot_detail_after_moving(webapp, tmp_path, snap_compare):
    assert snap_compare(make_app(webapp, tmp_path / "b.json"), terminal_size=(80, 24), press=["down", "down", "o"])


def test_snapshot_help(webapp, tmp_path, snap_compare):
    assert snap_compare(make_app(webapp, tmp_path / "b.json"), terminal_size=(100, 36), press=["question_mark"])
