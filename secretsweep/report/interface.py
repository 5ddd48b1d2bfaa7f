"""What every report format receives, and the one method it implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from secretsweep.model import Decision, Finding, Occurrence, Rule


@dataclass(frozen=True)
class ReportData:
    findings: list[Finding]
    rules: Mapping[str, Rule] = field(default_factory=dict)
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)
    show_secrets: bool = False


class Formatter(Protocol):
    def format(self, data: ReportData) -> str: ...


def location_dict(o: Occurrence) -> dict[str, Any]:
    """One location as the JSON reports spell it; history fields are null outside history."""
    return {
        "path": o.origin.path,
        "line": o.line,
        "column": o.column,
        "commit": o.origin.commit,
        "author": o.origin.author,
        "email": o.origin.email,
        "date": o.origin.date,
        "in_head": o.origin.in_head,
        "blob": o.blob_id,
        "allowed_by": o.allowed_by,
    }


def finding_dict(f: Finding, data: ReportData) -> dict[str, Any]:
    rule = data.rules.get(f.rule_id)
    decision = data.decisions.get(f.fingerprint)
    out: dict[str, Any] = {
        "rule": f.rule_id,
        "name": rule.name if rule else f.rule_id,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "fingerprint": f.fingerprint,
        "redacted": f.redacted,
        "preview": f.preview,
        "path": f.first.origin.path,
        "line": f.first.line,
        "decision": decision.status.value if decision else None,
        "locations": [location_dict(o) for o in f.occurrences],
    }
    if decision is not None and decision.reason:
        out["decision_reason"] = decision.reason
    if data.show_secrets:
        out["secret"] = f.secret.decode("utf-8", "replace")
    return out
