"""JSON (one document) and JSON Lines (one finding per line) reports."""

from __future__ import annotations

import json

from secretsweep.report.interface import ReportData, finding_dict


class JsonFormatter:
    def format(self, data: ReportData) -> str:
        doc = {
            "version": 1,
            "tool": "secretsweep",
            "summary": dict(data.summary),
            "findings": [finding_dict(f, data) for f in data.findings],
        }
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"


class JsonLinesFormatter:
    def format(self, data: ReportData) -> str:
        return "".join(json.dumps(finding_dict(f, data)) + "\n" for f in data.findings)
