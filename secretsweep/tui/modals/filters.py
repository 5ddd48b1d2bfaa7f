"""Edits the filters: rule, decision, path prefix, in HEAD, confidence. Returns the changes or None."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from secretsweep.model import Confidence, Status
from secretsweep.triage import UNDECIDED, Filters

DECISIONS = [("any", ""), ("undecided", UNDECIDED)] + [
    (s.value.replace("_", " "), s.value) for s in Status if s is not Status.UNREVIEWED]
HEAD = [("either", "any"), ("still in HEAD", "yes"), ("history only", "no")]
CONFIDENCE = [(f">= {c.value}", c.value) for c in (Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)]


class FilterModal(ModalScreen[dict[str, Any] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: Filters) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        head = "any" if c.in_head is None else ("yes" if c.in_head else "no")
        with Vertical(id="dialog", classes="dialog filters"):
            yield Label("Filters", classes="title")
            yield Label("rule id contains")
            yield Input(c.rule, id="rule", placeholder="e.g. aws.")
            yield Label("path starts with")
            yield Input(c.path_prefix, id="path", placeholder="e.g. app/")
            yield Label("decision")
            yield Select(DECISIONS, value=c.decision, allow_blank=False, id="decision")
            yield Label("in HEAD")
            yield Select(HEAD, value=head, allow_blank=False, id="head")
            yield Label("confidence")
            yield Select(CONFIDENCE, value=c.min_confidence.value, allow_blank=False, id="confidence")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")

    def _values(self) -> dict[str, Any]:
        head = self.query_one("#head", Select).value
        return {
            "rule": self.query_one("#rule", Input).value.strip(),
            "path_prefix": self.query_one("#path", Input).value.strip(),
            "decision": self.query_one("#decision", Select).value,
            "in_head": None if head == "any" else head == "yes",
            "min_confidence": Confidence(str(self.query_one("#confidence", Select).value)),
        }

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.dismiss(self._values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.dismiss(self._values())
        elif event.button.id == "clear":
            self.dismiss({"rule": "", "path_prefix": "", "decision": "", "in_head": None,
                          "min_confidence": Confidence.LOW})
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
