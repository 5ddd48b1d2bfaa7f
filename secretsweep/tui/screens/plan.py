"""The migration plan (a dry run) for the chosen findings, with a way to apply it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class PlanScreen(ModalScreen[bool]):
    """Dismissed with True when the user asks to apply the plan."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, plan: str, count: int, can_apply: bool) -> None:
        super().__init__()
        self.plan = plan
        self.count = count
        self.can_apply = can_apply

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-dialog", classes="dialog"):
            yield Label(f"Migration plan for {self.count} confirmed finding(s) — dry run, nothing changed yet")
            with VerticalScroll(id="plan-text"):
                yield Static(self.plan, markup=False)
            with Horizontal(classes="buttons"):
                if self.can_apply:
                    yield Button("Apply…", variant="error", id="apply")
                else:
                    yield Label("applying is not available here", classes="hint")
                yield Button("Close", variant="primary", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_close(self) -> None:
        self.dismiss(False)
