"""Report formats: text, json, jsonl and sarif, each a Formatter over the same ReportData."""

from __future__ import annotations

from secretsweep.report.interface import Formatter, ReportData

FORMATS = ("text", "json", "jsonl", "sarif")


def formatter(name: str, *, color: bool = False) -> Formatter:
    """The formatter for a --format value."""
    if name == "json":
        from secretsweep.report.json import JsonFormatter

        return JsonFormatter()
    if name == "jsonl":
        from secretsweep.report.json import JsonLinesFormatter

        return JsonLinesFormatter()
    if name == "sarif":
        from secretsweep.report.sarif import SarifFormatter

        return SarifFormatter()
    from secretsweep.report.text import TextFormatter

    return TextFormatter(color=color)


__all__ = ["FORMATS", "Formatter", "ReportData", "formatter"]
