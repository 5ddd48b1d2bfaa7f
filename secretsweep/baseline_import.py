"""`secretsweep baseline import`: decisions from other tools' files, matched against current findings.

Other tools key their entries by file and line, or by a hash we cannot reverse, so each entry is
matched to a finding of this scan (same place, or same secret hash); what matches nothing is listed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from secretsweep.errors import BaselineError
from secretsweep.model import Decision, Finding, Status


@dataclass
class Imported:
    decisions: list[Decision] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    source: str = ""


def detect_kind(path: Path, text: str) -> str:
    if path.name == ".gitleaksignore" or path.name.endswith(".gitleaksignore"):
        return "gitleaksignore"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise BaselineError(f"{path}: not a detect-secrets baseline, gitleaks report or .gitleaksignore") from None
    if isinstance(doc, dict) and isinstance(doc.get("results"), dict):
        return "detect-secrets"
    if isinstance(doc, list):
        return "gitleaks-report"
    raise BaselineError(f"{path}: not a detect-secrets baseline, gitleaks report or .gitleaksignore")


def _at(findings: Sequence[Finding], path: str, line: int, commit: str | None = None) -> list[Finding]:
    out = []
    for f in findings:
        for o in f.occurrences:
            if o.origin.path == path and o.line == line and (commit is None or o.origin.commit in (None, commit)):
                out.append(f)
                break
    return out


def _decision(f: Finding, status: Status, reason: str, by: str, at: str) -> Decision:
    return Decision(f.fingerprint, f.rule_id, status, reason, by, at)


def import_file(path: Path, findings: Sequence[Finding], by: str, at: str) -> Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from None
    kind = detect_kind(path, text)
    result = Imported(source=kind)
    if kind == "detect-secrets":
        doc = json.loads(text)
        for filename, entries in doc.get("results", {}).items():
            for e in entries:
                line = int(e.get("line_number", 0))
                wanted = e.get("hashed_secret", "")
                # detect-secrets stores sha1(secret): compare with each finding at that place.
                matched = [f for f in findings if hashlib.sha1(f.secret).hexdigest() == wanted
                           and any(o.origin.path == filename for o in f.occurrences)]
                if not matched:
                    result.not_carried.append(f"{filename}:{line} ({e.get('type', '?')}): no finding with that secret")
                    continue
                status = {True: Status.CONFIRMED, False: Status.FALSE_POSITIVE}.get(e.get("is_secret"),
                                                                                  Status.UNREVIEWED)
                result.decisions += [_decision(f, status, "imported from detect-secrets", by, at) for f in matched]
    elif kind == "gitleaksignore":
        for raw in text.splitlines():
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            parts = entry.split(":")
            try:
                line = int(parts[-1])
            except ValueError:
                result.not_carried.append(f"{entry}: not a gitleaks fingerprint")
                continue
            commit = parts[0] if len(parts) >= 4 else None
            file = parts[-3] if len(parts) >= 3 else ""
            matched = _at(findings, file, line, commit)
            if not matched:
                result.not_carried.append(f"{entry}: no finding at {file}:{line}")
                continue
            result.decisions += [_decision(f, Status.IGNORED, f"imported from .gitleaksignore ({parts[-2]})", by, at)
                                 for f in matched]
    else:
        for e in json.loads(text):
            file, line = e.get("File", ""), int(e.get("StartLine", 0))
            secret = e.get("Secret") or ""
            matched = [f for f in findings if secret and f.secret == secret.encode()] if secret and \
                "REDACTED" not in secret else []
            matched = matched or _at(findings, file, line, e.get("Commit") or None)
            if not matched:
                result.not_carried.append(f"{file}:{line} ({e.get('RuleID', '?')}): no finding there")
                continue
            result.decisions += [_decision(f, Status.UNREVIEWED, f"imported from a gitleaks report ({e.get('RuleID')})",
                                           by, at) for f in matched]
    return result
