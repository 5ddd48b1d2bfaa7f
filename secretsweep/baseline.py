"""The baseline: `.secretsweep-baseline.json`, committed by the team, mapping fingerprints to decisions.

Written for git: keys sorted, one entry per line, nothing that changes from run to run, so two
branches that each add a decision merge without conflict. Every save takes a lock, re-reads the
file, applies only this process's changes and renames a temporary file over it: two processes
deciding at once lose nothing, and a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from secretsweep import localdir
from secretsweep.errors import BaselineError
from secretsweep.model import Decision, Status

FORMAT_VERSION = 1
LOCK_TIMEOUT_S = 30.0

_FIELDS = ("rule", "status", "reason", "by", "at", "secret_name", "secret_arn")


def _upgrade_v0(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (a list of {fingerprint, rule, status}) becomes the keyed layout of version 1."""
    entries = {e["fingerprint"]: {k: v for k, v in e.items() if k != "fingerprint"} for e in doc.get("results", [])}
    return {"version": 1, "entries": entries}


# Upgrade functions by the version they read; each returns the next version's document.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_v0}


def decision_from(fingerprint: str, raw: Mapping[str, Any]) -> Decision:
    return Decision(
        fingerprint=fingerprint,
        rule_id=str(raw.get("rule", "")),
        status=Status(raw["status"]),
        reason=str(raw.get("reason", "") or ""),
        decided_by=str(raw.get("by", "") or ""),
        decided_at=str(raw.get("at", "") or ""),
        secret_name=raw.get("secret_name"),
        secret_arn=raw.get("secret_arn"),
    )


def decision_to(d: Decision) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": d.rule_id, "status": d.status.value}
    if d.reason:
        out["reason"] = d.reason
    if d.decided_by:
        out["by"] = d.decided_by
    if d.decided_at:
        out["at"] = d.decided_at
    if d.secret_name:
        out["secret_name"] = d.secret_name
    if d.secret_arn:
        out["secret_arn"] = d.secret_arn
    return out


def render(entries: Mapping[str, Decision]) -> str:
    """The file's text: sorted keys, one entry per line."""
    lines = [f"  {json.dumps(fp)}: {json.dumps(decision_to(entries[fp]), sort_keys=True)}" for fp in sorted(entries)]
    body = ",\n".join(lines)
    return (f'{{\n"version": {FORMAT_VERSION},\n"tool": "secretsweep",\n"entries": {{\n'
            + (body + "\n" if body else "") + "}\n}\n")


def parse(text: str, where: str) -> dict[str, Decision]:
    """Decisions from the file's text; a BaselineError saying where it is broken."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise BaselineError(f"{where}: not a secretsweep baseline (expected a JSON object)")
    version = doc.get("version", 0)
    if not isinstance(version, int):
        raise BaselineError(f"{where}: 'version' must be a number")
    if version > FORMAT_VERSION:
        raise BaselineError(f"{where}: written by a newer secretsweep (format {version}); upgrade secretsweep")
    while version < FORMAT_VERSION:
        doc = UPGRADES[version](doc)
        version = doc["version"]
    entries = doc.get("entries", {})
    if not isinstance(entries, dict):
        raise BaselineError(f"{where}: 'entries' must be an object keyed by fingerprint")
    out: dict[str, Decision] = {}
    for fp, raw in entries.items():
        if not isinstance(raw, dict) or "status" not in raw:
            raise BaselineError(f"{where}: entry {fp}: needs a 'status'")
        try:
            out[fp] = decision_from(fp, raw)
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise BaselineError(f"{where}: entry {fp}: unknown status {raw['status']!r} (known: {known})") from None
    return out


class Baseline:
    """Decisions keyed by fingerprint, loaded from and saved to one file."""

    def __init__(self, path: Path, entries: dict[str, Decision] | None = None) -> None:
        self.path = path
        self.entries: dict[str, Decision] = entries or {}
        self._changes: dict[str, Decision | None] = {}

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """The baseline at `path` (empty when the file does not exist yet)."""
        return cls(path, _read(path))

    def get(self, fingerprint: str) -> Decision | None:
        return self.entries.get(fingerprint)

    def decide(self, decision: Decision) -> None:
        self.entries[decision.fingerprint] = decision
        self._changes[decision.fingerprint] = decision

    def remove(self, fingerprint: str) -> None:
        self.entries.pop(fingerprint, None)
        self._changes[fingerprint] = None

    def reload(self) -> None:
        """Pick up what other writers saved, keeping this process's unsaved changes on top."""
        merged = _read(self.path)
        _apply(merged, self._changes)
        self.entries = merged

    def save(self) -> None:
        """Merge this process's changes into the file on disk, under a lock, atomically."""
        with _locked(self.path):
            merged = _read(self.path)
            _apply(merged, self._changes)
            _write_atomic(self.path, render(merged))
        self.entries = merged
        self._changes.clear()


def with_status(decision: Decision, status: Status, **changes: Any) -> Decision:
    return replace(decision, status=status, **changes)


def _apply(entries: dict[str, Decision], changes: Mapping[str, Decision | None]) -> None:
    for fp, d in changes.items():
        if d is None:
            entries.pop(fp, None)
        else:
            entries[fp] = d


def _read(path: Path) -> dict[str, Decision]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc}") from None
    return parse(text, str(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `<baseline>.lock`; waits up to LOCK_TIMEOUT_S, then says who must finish first."""
    import time

    # The lock lives in the `.secretsweep/` folder beside the baseline, which git ignores, so it
    # never shows up as an untracked file in the team's repository.
    lock_path = path.parent / localdir.LOCAL_DIR / (path.name + ".lock")
    try:
        localdir.ensure(lock_path.parent)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise BaselineError(f"{lock_path}: cannot create the lock file: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BaselineError(f"{path}: another secretsweep process holds the baseline lock; "
                                        "try again when it finishes") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write the baseline: {exc.strerror}") from None
