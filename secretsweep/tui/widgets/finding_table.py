"""The findings table: one DataTable row per finding, keyed by fingerprint.

Filtering or sorting reloads the rows in one `add_rows` call; a decision or a selection changes
only the cells it touches.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from secretsweep.model import Decision, Finding
from secretsweep.triage import decision_label, in_head

COLUMNS = (  # key, label
    ("sel", " "),
    ("decision", "Decision"),
    ("severity", "Sev/Conf"),
    ("rule", "Rule"),
    ("location", "Location"),
    ("commit", "Commit"),
    ("date", "Date"),
    ("count", "#"),
    ("head", "HEAD"),
)

_SEV = {"critical": "crit", "high": "high", "medium": "med", "low": "low"}
_DECISION_STYLE = {
    "undecided": "dim",
    "confirmed": "bold red",
    "false positive": "green",
    "ignored": "yellow",
    "migrated": "bold cyan",
}


def _tail(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _head(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def decision_cell(d: Decision | None) -> Text:
    label = decision_label(d)
    short = {"false positive": "false pos"}.get(label, label)
    return Text(short, style=_DECISION_STYLE.get(label, ""))


class FindingTable(DataTable):
    """Findings as rows; the row key is the fingerprint."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.compact = False
        self.shown: list[str] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def row_cells(self, f: Finding, decision: Decision | None, selected: bool) -> list[object]:
        o = f.first
        rule_w, loc_w = (22, 24) if self.compact else (40, 48)
        head = in_head(f)
        sev = Text(f"{_SEV[f.severity.value]}/{f.confidence.value}",
                   style="bold red" if f.severity.value == "critical" else "")
        return [
            Text("●" if selected else " ", style="bold magenta"),
            decision_cell(decision),
            sev,
            _head(f.rule_id, rule_w),
            _tail(f"{o.origin.path}:{o.line}", loc_w),
            (o.origin.commit or "")[:8],
            (o.origin.date or "")[:10],
            Text(str(len(f.occurrences)), justify="right"),
            "?" if head is None else ("yes" if head else "no"),
        ]

    def load(self, findings: Sequence[Finding], decisions: dict[str, Decision | None], selected: set[str],
             keep: str | None = None) -> None:
        """Replace every row; the cursor stays on `keep` if it is still shown."""
        self.clear()
        self.shown = [f.fingerprint for f in findings]
        if findings:
            self.add_rows_keyed(findings, decisions, selected)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False, scroll=True)
        elif findings:
            self.move_cursor(row=0, animate=False)

    def add_rows_keyed(self, findings: Sequence[Finding], decisions: dict[str, Decision | None],
                       selected: set[str]) -> None:
        for f in findings:  # add_row per row is cheap (no refresh until idle); keys need add_row
            self.add_row(*self.row_cells(f, decisions.get(f.fingerprint), f.fingerprint in selected),
                         key=f.fingerprint)

    def set_decision(self, fingerprint: str, decision: Decision | None) -> None:
        if fingerprint in self.rows:
            self.update_cell(fingerprint, "decision", decision_cell(decision))

    def set_selected(self, fingerprint: str, selected: bool) -> None:
        if fingerprint in self.rows:
            self.update_cell(fingerprint, "sel", Text("●" if selected else " ", style="bold magenta"))

    @property
    def current(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value if key is not None else None

