"""`secretsweep triage`: review findings, decide with one key each, hand confirmed ones to migration.

Everything the app knows about the outside world is injected: the session (findings plus a
decision sink that persists at once), `load_context` for a blob's bytes, and the two migration
callables. Secrets are masked on the bytes before rendering; only `r` shows one, until the cursor moves.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from secretsweep.model import Finding, Occurrence, Status
from secretsweep.triage import SORT_KEYS, TriageSession, decision_label
from secretsweep.tui.modals.confirm import ConfirmModal
from secretsweep.tui.modals.filters import FilterModal
from secretsweep.tui.modals.reason import ReasonModal
from secretsweep.tui.screens.help import HelpScreen
from secretsweep.tui.screens.plan import PlanScreen
from secretsweep.tui.widgets.code_view import CodeView, Span, excerpt
from secretsweep.tui.widgets.finding_table import FindingTable

LoadContext = Callable[[Occurrence], "tuple[bytes, str] | None"]
PlanPreview = Callable[[list[str]], str]

MIN_WIDTH, MIN_HEIGHT = 80, 24
WIDE_WIDTH = 150     # side-by-side table and detail from here
COMPACT_WIDTH = 120  # narrower columns below this
MAX_LOCATIONS = 200  # listed in the detail pane
_CACHE = 32


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class TriageApp(App[None]):
    CSS_PATH = "triage.tcss"
    TITLE = "secretsweep triage"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("c", "decide('confirmed')", "Confirm"),
        Binding("f", "decide('false_positive')", "False pos"),
        Binding("i", "ignore", "Ignore"),
        Binding("u", "undo", "Undo"),
        Binding("space", "toggle_select", "Select", key_display="spc"),
        Binding("a", "select_all", "Sel all"),
        Binding("r", "reveal", "Reveal"),
        # A priority key: handled as it arrives, so text typed or pasted with it goes to the search box
        # instead of reaching the table as keys (`c` confirms there). Inside the box it is a "/" again.
        Binding("slash", "search", "Search", key_display="/", priority=True),
        Binding("F", "filters", "Filter"),
        Binding("m", "migrate", "Migrate"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("o", "next_location", "Next location", show=False),
        Binding("s", "sort_next", "Sort", show=False),
        Binding("x", "clear_filters", "Clear filters", show=False),
        Binding("escape", "escape", "Clear", show=False),
    ]

    def __init__(self, session: TriageSession, load_context: LoadContext,
                 plan_preview: PlanPreview | None = None, apply_migration: PlanPreview | None = None, *,
                 who: str = "", clock: Callable[[], str] | None = None, poll_interval: float = 2.0) -> None:
        super().__init__()
        self.session = session
        self.load_context = load_context
        self.plan_preview = plan_preview
        self.apply_migration = apply_migration
        self.who = who
        self.clock = clock or _utc_now
        self.poll_interval = poll_interval
        self.revealed: str | None = None      # the fingerprint whose secret is shown, if any
        self.location_index = 0
        self.too_small = False
        self._shown_decisions: dict[str, object] = {}
        self._contexts: OrderedDict[tuple[str, str], tuple[bytes, str] | None] = OrderedDict()
        self._spans: dict[str, list[Span]] = {}
        for f in session.findings:
            for o in f.occurrences:
                self._spans.setdefault(o.blob_id, []).append(Span(o.start, o.end, f.redacted))
        self._search_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._main_screen: Screen | None = None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Container(id="body"):
            yield FindingTable(id="table")
            with VerticalScroll(id="detail"):
                yield Static(id="detail-head")
                yield CodeView(id="code")
                yield Static(id="locations")
        yield Input(id="search", placeholder="search: rule, path, commit, author… (Enter: back to the table, "
                                             "Escape: clear)")
        yield Static(id="too-small")
        yield Footer()

    @property
    def table(self) -> FindingTable:
        return self.query_one("#table", FindingTable)

    def on_mount(self) -> None:
        self._main_screen = self.screen
        self._apply_size()
        self.reload_table()
        self.table.focus()
        if self.poll_interval > 0:  # owned by the table, like the search's wait: it stops with the widgets
            self.table.set_interval(self.poll_interval, self._poll)

    def on_resize(self, event: Resize) -> None:
        if self._main_screen is not None:
            self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, w: int | None = None, h: int | None = None) -> None:
        if w is None or h is None:
            w, h = self.size
        small = w < MIN_WIDTH or h < MIN_HEIGHT
        self.too_small = small
        if self._main_screen is not None:
            self._main_screen.set_class(small, "too-small")
        self.query_one("#too-small", Static).update(
            f"secretsweep triage needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT};\n"
            f"this one is {w}x{h}. Make it larger (q quits).")
        self.query_one("#body").set_class(w >= WIDE_WIDTH, "wide")
        compact = w < COMPACT_WIDTH
        table = self.table
        if table.compact != compact:
            table.compact = compact
            if table.columns:
                self.reload_table()

    # -- table --------------------------------------------------------------------------------
    def reload_table(self) -> None:
        """Rows for the current filters and order (after a filter, a sort, or a reload)."""
        table = self.table
        keep = table.current
        rows = self.session.visible()
        decisions = {f.fingerprint: self.session.decision(f.fingerprint) for f in rows}
        self._shown_decisions = dict(decisions)
        table.load(rows, decisions, self.session.selected, keep=keep)
        self.update_status()
        self.show_detail()

    def refresh_decisions(self) -> None:
        """After decisions changed (here or on disk): the cells that differ, or every row if filters depend on them."""
        s = self.session
        if s.filters.decision or s.sort_key == "decision":
            self.reload_table()
            return
        table = self.table
        for fp in table.shown:
            d = s.decision(fp)
            if self._shown_decisions.get(fp) != d:
                self._shown_decisions[fp] = d
                table.set_decision(fp, d)
        self.update_status()
        self.show_detail(keep_reveal=True)

    def update_status(self) -> None:
        c = self.session.counts()
        s = self.session
        arrow = "↓" if s.sort_reverse else "↑"
        text = Text()
        text.append(f"undecided {c.undecided}", style="bold")
        text.append(f"  confirmed {c.confirmed}", style="red")
        text.append(f"  false positive {c.false_positive}", style="green")
        text.append(f"  ignored {c.ignored}", style="yellow")
        if c.migrated:
            text.append(f"  migrated {c.migrated}", style="cyan")
        text.append(f"  │ {c.shown}/{c.total} shown")
        if c.selected:
            text.append(f"  {c.selected} selected", style="bold magenta")
        text.append(f"  │ sort {s.sort_key}{arrow}")
        flt = s.filters.describe()
        if flt:
            text.append(f"  │ {flt}", style="italic")
        self.query_one("#status", Static).update(text)

    @on(DataTable.RowHighlighted, "#table")
    def _row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        current = self.table.current
        if current != self.revealed:
            self.revealed = None
        self.location_index = 0
        # Holding an arrow key moves through many rows: draw the detail once the cursor rests.
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self.show_detail(code=False)
        self._detail_timer = self.set_timer(0.05, self.show_detail)

    @on(DataTable.HeaderSelected, "#table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in SORT_KEYS:
            self.session.sort_by(key)
            self.reload_table()

    # -- detail -------------------------------------------------------------------------------
    def current_finding(self) -> Finding | None:
        fp = self.table.current
        return self.session.by_fp.get(fp) if fp else None

    def show_detail(self, keep_reveal: bool = True, code: bool = True) -> None:
        # The detail pane lives on the main screen: a timer may fire while a modal is on top (query the
        # main screen, not the active one) or while the app is closing (nothing left to draw).
        if not self.screen_stack:
            return
        main = self.screen_stack[0]
        try:
            head = main.query_one("#detail-head", Static)
            view = main.query_one("#code", CodeView)
            where = main.query_one("#locations", Static)
        except NoMatches:
            return
        f = self.current_finding()
        if f is None:
            head.update(Text("No finding matches the filters." if self.session.findings else "No findings.",
                             style="italic"))
            view.show_message("")
            where.update("")
            return
        if not keep_reveal or self.revealed != f.fingerprint:
            self.revealed = None
        d = self.session.decision(f.fingerprint)
        occ = f.occurrences[self.location_index % len(f.occurrences)]
        t = Text()
        t.append(f.rule_id, style="bold")
        t.append(f"  {f.severity.value}/{f.confidence.value}  ")
        t.append(decision_label(d), style="bold")
        if d is not None and d.reason:
            t.append(f" ({d.reason})", style="italic")
        if d is not None and d.decided_by and d.status is not Status.UNREVIEWED:
            t.append(f" by {d.decided_by} {d.decided_at}", style="dim")
        t.append("\nsecret ")
        t.append("shown (r hides it)" if self.revealed else f"{f.redacted}  (r reveals)",
                 style="bold red" if self.revealed else "")
        t.append(f"  {f.fingerprint}", style="dim")
        t.append(f"\n{occ.origin.path}:{occ.line}:{occ.column}", style="underline")
        if len(f.occurrences) > 1:
            t.append(f"  location {self.location_index % len(f.occurrences) + 1} of {len(f.occurrences)} (o: next)",
                     style="dim")
        head.update(t)
        if code:
            self._show_code(f, occ, view)
        else:
            view.show_message("…")
        where.update(self._locations(f, occ))

    def _show_code(self, f: Finding, occ: Occurrence, view: CodeView) -> None:
        try:
            ctx = self._blob_context(occ)
        except Exception as exc:  # a git failure must not end the session
            view.show_message(f"cannot read {occ.origin.path} ({type(exc).__name__})")
            return
        if ctx is None:
            view.show_message(f"the content of {occ.origin.path} (blob {occ.blob_id[:10]}) is not available")
            return
        data, lexer = ctx
        target = Span(occ.start, occ.end, f.redacted)
        ex = excerpt(data, self._spans.get(occ.blob_id, ()), target, occ.line,
                     revealed=self.revealed == f.fingerprint)
        view.show_excerpt(ex, lexer)

    def _blob_context(self, occ: Occurrence) -> tuple[bytes, str] | None:
        key = (occ.blob_id, occ.origin.path)
        if key in self._contexts:
            self._contexts.move_to_end(key)
            return self._contexts[key]
        ctx = self.load_context(occ)
        self._contexts[key] = ctx
        while len(self._contexts) > _CACHE:
            self._contexts.popitem(last=False)
        return ctx

    def _locations(self, f: Finding, current: Occurrence) -> Text:
        t = Text()
        t.append(f"{len(f.occurrences)} location(s)\n", style="bold")
        for o in f.occurrences[:MAX_LOCATIONS]:
            g = o.origin
            mark = "▶ " if o is current else "  "
            head = "" if g.in_head is None else (" HEAD" if g.in_head else " history only")
            t.append(mark)
            t.append(f"{(g.commit or '—')[:10]:<10} ", style="yellow")
            t.append(f"{(g.date or '')[:10]:<10} ")
            t.append(f"{g.author or '?'} ", style="cyan")
            t.append(f"{g.path}:{o.line}")
            t.append(head, style="dim")
            if o.allowed_by:
                t.append(f" allowed by {o.allowed_by}", style="dim")
            t.append("\n")
        if len(f.occurrences) > MAX_LOCATIONS:
            t.append(f"  … and {len(f.occurrences) - MAX_LOCATIONS} more\n", style="dim")
        return t

    # -- actions: viewing ---------------------------------------------------------------------
    def _usable(self) -> bool:
        return not self.too_small

    def action_reveal(self) -> None:
        f = self.current_finding()
        if f is None or not self._usable():
            return
        self.revealed = None if self.revealed == f.fingerprint else f.fingerprint
        self.show_detail()

    def action_next_location(self) -> None:
        f = self.current_finding()
        if f is None:
            return
        self.location_index = (self.location_index + 1) % len(f.occurrences)
        self.revealed = None
        self.show_detail()

    def action_sort_next(self) -> None:
        keys = list(SORT_KEYS)
        self.session.sort_by(keys[(keys.index(self.session.sort_key) + 1) % len(keys)])
        self.reload_table()

    def action_search(self) -> None:
        if not self._usable():
            return
        box = self.query_one("#search", Input)
        box.add_class("visible")
        self.screen.set_focus(box)  # now: `focus()` would wait behind the keys that came with the "/"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The search key acts from the main screen's table only: inside the search box, or in a
        dialog's field (a path), "/" is typed. None: listed in the footer, dimmed."""
        if action == "search":
            return None if self.screen is not self._main_screen or self._typing_in_search() else True
        return True

    def _typing_in_search(self) -> bool:
        # `screen.focused`, not the box's `has_focus`, which follows only once the focus event is handled
        # (a key in the same burst as "/" would still see the table focused); and no query, which would
        # fail while the app closes.
        focused = self.screen.focused
        return focused is not None and focused.id == "search"

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._stop_search_timer()
        # The box owns the wait, so it ends with the box: closing the app removes the widgets before the
        # app's own timers stop, and a search firing in between would find no box.
        self._search_timer = event.input.set_timer(0.15, self._apply_search)

    def _stop_search_timer(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None

    def _apply_search(self) -> None:
        value = self.query_one("#search", Input).value.strip()
        if value != self.session.filters.search:
            self.session.set_filters(search=value)
            self.reload_table()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        self._stop_search_timer()  # applied now
        self._apply_search()
        box = self.query_one("#search", Input)
        if not box.value:
            box.remove_class("visible")
        self.table.focus()

    def action_escape(self) -> None:
        box = self.query_one("#search", Input)
        if self._typing_in_search():
            box.value = ""
            box.remove_class("visible")
            self._apply_search()
            self.table.focus()
            return
        if self.session.selected:
            self.session.clear_selection()
            self.reload_table()

    def action_filters(self) -> None:
        if not self._usable():
            return

        def done(changes: dict[str, object] | None) -> None:
            if changes is not None:
                self.session.set_filters(**changes)
                self.reload_table()

        self.push_screen(FilterModal(self.session.filters), done)

    def action_clear_filters(self) -> None:
        self.session.clear_filters()
        box = self.query_one("#search", Input)
        box.value = ""
        box.remove_class("visible")
        self.reload_table()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # -- actions: selecting and deciding ------------------------------------------------------
    def action_toggle_select(self) -> None:
        fp = self.table.current
        if fp is None or not self._usable():
            return
        self.table.set_selected(fp, self.session.toggle(fp))
        self.update_status()
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.action_cursor_down()

    def action_select_all(self) -> None:
        if not self._usable():
            return
        before = set(self.session.selected)
        self.session.select_all_visible()
        after = self.session.selected
        for fp in before ^ after:
            self.table.set_selected(fp, fp in after)
        self.update_status()

    def action_decide(self, status: str) -> None:
        self._decide(Status(status))

    def action_ignore(self) -> None:
        if not self._usable():
            return
        targets = self.session.targets(self.table.current)
        if not targets:
            return

        def done(reason: str | None) -> None:
            if reason:
                self._decide(Status.IGNORED, reason, targets)

        self.push_screen(ReasonModal(len(targets)), done)

    def _decide(self, status: Status, reason: str = "", targets: list[str] | None = None) -> None:
        if not self._usable():
            return
        many = bool(self.session.selected)
        targets = targets if targets is not None else self.session.targets(self.table.current)
        if not targets:
            return
        try:
            changed = self.session.decide(targets, status, reason, self.who, self.clock())
        except Exception as exc:  # the baseline could not be written: nothing is shown as decided
            self.session.reload()
            self.refresh_decisions()
            self.notify(f"not saved: {exc}", severity="error", timeout=8)
            return
        label = status.value.replace("_", " ")
        if many:
            for fp in list(self.session.selected):
                self.table.set_selected(fp, False)
            self.session.clear_selection()
        self.refresh_decisions()
        if changed:
            self.notify(f"{len(changed)} finding(s) marked {label}", timeout=2)
        else:
            self.notify("nothing changed", timeout=2)
        if not many and self.table.cursor_row < self.table.row_count - 1 and not self.session.filters.decision:
            self.table.action_cursor_down()

    def action_undo(self) -> None:
        if not self._usable():
            return
        try:
            undone = self.session.undo()
        except Exception as exc:
            self.notify(f"not saved: {exc}", severity="error", timeout=8)
            return
        if undone is None:
            self.notify("nothing to undo", timeout=2)
            return
        self.refresh_decisions()
        self.notify(f"undid the decision on {len(undone)} finding(s)", timeout=2)

    def _poll(self) -> None:
        try:
            changed = self.session.reload()
        except Exception as exc:
            self.notify(f"cannot re-read the decisions: {exc}", severity="warning", timeout=5)
            return
        if changed:
            self.refresh_decisions()

    # -- migration ----------------------------------------------------------------------------
    def action_migrate(self) -> None:
        if not self._usable():
            return
        if self.plan_preview is None:
            self.notify("migrate is not available", severity="warning")
            return
        targets = self.session.targets(self.table.current)
        confirmed = [fp for fp in targets if self.session.status(fp) is Status.CONFIRMED]
        if not confirmed:
            self.notify("no confirmed finding here: confirm (c) the real secrets first", severity="warning")
            return
        self.notify(f"preparing the migration plan for {len(confirmed)} finding(s)…", timeout=2)
        self._preview(confirmed)

    @work(thread=True, exclusive=True, group="migrate")
    def _preview(self, fingerprints: list[str]) -> None:
        assert self.plan_preview is not None
        try:
            plan = self.plan_preview(fingerprints)
        except Exception as exc:
            self.call_from_thread(self.notify, f"migration plan failed: {exc}", severity="error", timeout=8)
            return
        self.call_from_thread(self._show_plan, plan, fingerprints)

    def _show_plan(self, plan: str, fingerprints: list[str]) -> None:
        def chosen(apply: bool | None) -> None:
            if apply:
                self._confirm_apply(fingerprints)

        self.push_screen(PlanScreen(plan, len(fingerprints), self.apply_migration is not None), chosen)

    def _confirm_apply(self, fingerprints: list[str]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.notify("migrating…", timeout=2)
                self._apply(fingerprints)

        self.push_screen(ConfirmModal(f"Apply the migration to {len(fingerprints)} finding(s)? This stores the "
                                      "secrets in the secret manager and rewrites the code.", yes="Apply"), answered)

    @work(thread=True, exclusive=True, group="migrate")
    def _apply(self, fingerprints: list[str]) -> None:
        assert self.apply_migration is not None
        try:
            result = self.apply_migration(fingerprints)
        except Exception as exc:
            self.call_from_thread(self.notify, f"migration failed: {exc}", severity="error", timeout=10)
            return
        self.call_from_thread(self._applied, result)

    def _applied(self, result: str) -> None:
        self.session.reload()
        self.refresh_decisions()
        self.push_screen(PlanScreen(result, 0, False))
