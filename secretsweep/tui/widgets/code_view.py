"""The code around a finding, syntax highlighted, with every known secret in the blob masked.

Masking happens on the bytes before anything is decoded or rendered: each span a finding was seen
at is replaced by that finding's redacted form. Only the span the user chose to reveal keeps its
bytes. Other findings in the same lines stay masked, revealed or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.widgets import Static

CONTEXT_LINES = 3
MAX_LINE = 400  # characters of one line shown; longer lines are cut around the match


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    replacement: str


@dataclass(frozen=True)
class Excerpt:
    text: str          # the lines shown, masked
    first_line: int    # number of the first line shown
    line: int          # the line of the occurrence (1-based, after masking)


def mask(data: bytes, spans: Iterable[Span], keep: Span | None = None) -> tuple[bytes, dict[Span, int]]:
    """`data` with every span replaced by its redacted form, except `keep`; and where each span starts in it."""
    out = bytearray()
    cursor = 0
    where: dict[Span, int] = {}
    for sp in sorted(set(spans), key=lambda s: (s.start, -s.end)):
        if sp.start < 0 or sp.start > len(data):
            continue
        if sp.start < cursor:  # overlaps a span already replaced: drop what is left of it too
            where[sp] = len(out)
            cursor = max(cursor, min(sp.end, len(data)))
            continue
        out += data[cursor:sp.start]
        where[sp] = len(out)
        out += data[sp.start:sp.end] if sp == keep else sp.replacement.encode("utf-8")
        cursor = min(sp.end, len(data))
    out += data[cursor:]
    return bytes(out), where


def excerpt(data: bytes, spans: Iterable[Span], target: Span, line: int, *, revealed: bool = False,
            context: int = CONTEXT_LINES) -> Excerpt:
    """The masked lines around `target` (which keeps its bytes only when `revealed`)."""
    masked, where = mask(data, {*spans, target}, keep=target if revealed else None)
    if target in where:
        line = masked[:where[target]].count(b"\n") + 1
    lines = masked.decode("utf-8", "replace").splitlines()
    lo = max(1, line - context)
    hi = min(len(lines), line + context)
    shown = [_cut(text) for text in lines[lo - 1:hi]]
    return Excerpt("\n".join(shown), lo, line)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + " …"


class CodeView(Static):
    """Shows an `Excerpt` with rich's Syntax, the occurrence's line highlighted."""

    DEFAULT_CSS = """
    CodeView { height: auto; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.plain = ""  # what is on screen, for tests and for checking nothing leaks

    def show_excerpt(self, ex: Excerpt, lexer: str, note: str = "") -> None:
        self.plain = ex.text
        syntax = Syntax(ex.text, lexer or "text", line_numbers=True, start_line=ex.first_line,
                        highlight_lines={ex.line}, word_wrap=False, theme="monokai", code_width=None,
                        background_color="default")
        parts: list[RenderableType] = [syntax]
        if note:
            parts.insert(0, Text(note, style="italic"))
        self.update(Group(*parts))

    def show_message(self, message: str) -> None:
        self.plain = message
        self.update(Text(message, style="italic"))
