"""The human report: one block per finding, redacted, coloured on a terminal."""

from __future__ import annotations

from secretsweep.model import Severity
from secretsweep.report.interface import ReportData

_COLORS = {Severity.CRITICAL: "\033[1;31m", Severity.HIGH: "\033[31m", Severity.MEDIUM: "\033[33m",
           Severity.LOW: "\033[36m"}
_DIM, _BOLD, _RESET = "\033[2m", "\033[1m", "\033[0m"
_SHOWN_LOCATIONS = 5


class TextFormatter:
    def __init__(self, *, color: bool = False) -> None:
        self.color = color

    def _c(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def format(self, data: ReportData) -> str:
        lines: list[str] = []
        for f in data.findings:
            rule = data.rules.get(f.rule_id)
            decision = data.decisions.get(f.fingerprint)
            head = f"{f.severity.value.upper():8} {rule.name if rule else f.rule_id}"
            tags = [f.rule_id, f"confidence {f.confidence.value}"]
            if decision is not None:
                tags.append(decision.status.value)
            if f.allowed:
                tags.append(f"allowed inline: {f.first.allowed_by}")
            lines.append(self._c(_COLORS[f.severity], head) + self._c(_DIM, f"  [{', '.join(tags)}]"))
            secret = f.secret.decode("utf-8", "replace") if data.show_secrets else f.redacted
            lines.append(f"  secret:  {secret}")
            lines.append(f"  line:    {f.preview}")
            for o in f.occurrences[:_SHOWN_LOCATIONS]:
                where = f"{o.origin.path}:{o.line}:{o.column}"
                if o.origin.commit:
                    where += f"  {o.origin.commit[:10]} {o.origin.author or ''} {(o.origin.date or '')[:10]}"
                    if o.origin.in_head is False:
                        where += "  (not in HEAD)"
                lines.append(f"  at:      {self._c(_BOLD, where)}")
            if len(f.occurrences) > _SHOWN_LOCATIONS:
                lines.append(f"           ... and {len(f.occurrences) - _SHOWN_LOCATIONS} more locations")
            lines.append(self._c(_DIM, f"  id:      {f.fingerprint}"))
            lines.append("")
        return "\n".join(lines)
