"""SARIF 2.1.0, as GitHub code scanning accepts it: one result per location of each finding."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from secretsweep import __version__
from secretsweep.model import Severity
from secretsweep.report.interface import ReportData

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
# GitHub ranks security results by this property (0-10).
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}


class SarifFormatter:
    def format(self, data: ReportData) -> str:
        rule_ids = sorted({f.rule_id for f in data.findings})
        index = {rid: i for i, rid in enumerate(rule_ids)}
        rules: list[dict[str, Any]] = []
        for rid in rule_ids:
            rule = data.rules.get(rid)
            severity = rule.severity if rule else Severity.HIGH
            name = rule.name if rule else rid
            entry: dict[str, Any] = {
                "id": rid,
                "name": "".join(w.capitalize() for w in rid.replace("-", ".").split(".")),
                "shortDescription": {"text": name},
                "fullDescription": {"text": (rule.description if rule and rule.description else name)},
                "help": {"text": f"{name}: remove the secret from the code, rotate it, and load it at run time "
                                 "(secretsweep migrate moves it into AWS Secrets Manager)."},
                "defaultConfiguration": {"level": _LEVEL[severity]},
                "properties": {"tags": ["security", "secret"], "security-severity": _SECURITY_SEVERITY[severity]},
            }
            if rule and rule.references:
                entry["helpUri"] = rule.references[0]
            rules.append(entry)
        results: list[dict[str, Any]] = []
        for f in data.findings:
            name = data.rules[f.rule_id].name if f.rule_id in data.rules else f.rule_id
            for o in f.occurrences:
                result: dict[str, Any] = {
                    "ruleId": f.rule_id,
                    "ruleIndex": index[f.rule_id],
                    "level": _LEVEL[f.severity],
                    "message": {"text": f"{name} ({f.redacted}) found; fingerprint {f.fingerprint}"},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": quote(o.origin.path), "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": o.line, "startColumn": o.column},
                        }
                    }],
                    "partialFingerprints": {"secretsweep/v1": f"{f.fingerprint}:{o.origin.path}"},
                    "properties": {"confidence": f.confidence.value},
                }
                if o.origin.commit:
                    result["properties"].update(commit=o.origin.commit, date=o.origin.date)
                if o.allowed_by:
                    result["suppressions"] = [{"kind": "inSource", "justification": o.allowed_by}]
                results.append(result)
        doc = {
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "secretsweep",
                    "version": __version__,
                    "informationUri": "https://github.com/secretsweep/secretsweep",
                    "rules": rules,
                }},
                "results": results,
            }],
        }
        return json.dumps(doc, indent=2) + "\n"
