"""The keys, and what each does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("Moving", [
        ("↑ ↓ PgUp PgDn", "move through the findings"),
        ("o", "show the next location of this finding"),
        ("r", "reveal the secret (hidden again when you move)"),
    ]),
    ("Deciding (applies to the selection, else the current row)", [
        ("c", "confirm: a real secret, to remediate"),
        ("f", "false positive"),
        ("i", "ignore (asks for a reason)"),
        ("u", "undo the last decision"),
        ("space", "select / unselect the current row"),
        ("a", "select every finding matching the filters (again: unselect)"),
        ("escape", "clear the selection"),
    ]),
    ("Finding", [
        ("/", "search (rule, path, commit, author, redacted value)"),
        ("F", "filters: rule, decision, path prefix, in HEAD, confidence"),
        ("x", "clear every filter and the search"),
        ("s / click a header", "sort by the next column (again: reverse)"),
    ]),
    ("Remediation", [
        ("m", "migration plan (dry run) for the selected confirmed findings"),
    ]),
    ("", [("?", "this help"), ("q", "quit (every decision is already saved)")]),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        tables = []
        for title, rows in KEYS:
            table = Table(show_header=False, box=None, padding=(0, 2), expand=False, title=title or None,
                          title_justify="left", title_style="bold")
            table.add_column(style="bold cyan", no_wrap=True, min_width=18)
            table.add_column()
            for key, what in rows:
                table.add_row(key, what)
            tables.append(table)
        with VerticalScroll(id="help", classes="dialog"):
            yield Static("[b]secretsweep triage[/b] — decisions are written to the baseline as you make them")
            for table in tables:
                yield Static(table, classes="keys")
            yield Static("[dim]Escape, q or ? closes this help[/]")

    def action_close(self) -> None:
        self.dismiss(None)
