"""`secretsweep triage [PATH]`: the findings store and baseline of a repository, opened in the triage app."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from secretsweep.baseline import Baseline
from secretsweep.errors import EXIT_CLEAN, UsageError
from secretsweep.model import Confidence, Decision, Occurrence, blob_id

# Lexers for names pygments does not know by extension.
_LEXERS = {".env": "bash", "Dockerfile": "docker", ".properties": "properties", ".tf": "terraform"}


class BaselineSink:
    """The baseline as the triage session's DecisionSink: every change is saved before it is shown.

    Each write re-reads the file first (others may have decided meanwhile); `Baseline.save` then
    merges only this process's changes under the lock and renames atomically.
    """

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self._stamp = self._disk_stamp()

    @property
    def entries(self) -> Mapping[str, Decision]:
        return self.baseline.entries

    def get(self, fingerprint: str) -> Decision | None:
        return self.baseline.get(fingerprint)

    def decide(self, decision: Decision) -> None:
        self.apply({decision.fingerprint: decision})

    def remove(self, fingerprint: str) -> None:
        self.apply({fingerprint: None})

    def apply(self, changes: Mapping[str, Decision | None]) -> None:
        """Save a batch of decisions (None: remove) in one locked write."""
        self.baseline.reload()
        for fp, d in changes.items():
            if d is None:
                self.baseline.remove(fp)
            else:
                self.baseline.decide(d)
        self.baseline.save()
        self._stamp = self._disk_stamp()

    def reload(self) -> bool:
        """Re-read the file if it changed on disk; False when it did not."""
        stamp = self._disk_stamp()
        if stamp == self._stamp:
            return False
        self.baseline.reload()
        self._stamp = stamp
        return True

    def _disk_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.baseline.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)


def lexer_for(path: str) -> str:
    name = Path(path).name
    for suffix, lexer in _LEXERS.items():
        if name == suffix or name.endswith(suffix):
            return lexer
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:
        return "text"
    try:
        return get_lexer_for_filename(name).aliases[0]
    except (ClassNotFound, IndexError):
        return "text"


def context_loader(git_dir: Path, work_tree: Path | None) -> Callable[[Occurrence], tuple[bytes, str] | None]:
    """`load_context` for the app: the working file when it is this very blob, else the blob from git."""

    def load(occ: Occurrence) -> tuple[bytes, str] | None:
        lexer = lexer_for(occ.origin.path)
        if work_tree is not None and occ.origin.path:
            path = work_tree / occ.origin.path
            try:
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                    if blob_id(data) == occ.blob_id:
                        return data, lexer
            except OSError:
                pass
        try:
            res = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", occ.blob_id],
                                 capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        if res.returncode != 0:
            return None
        return res.stdout, lexer

    return load


def _migrate_runner(root: Path, *, apply: bool) -> Callable[[list[str]], str]:
    """`secretsweep migrate` for the chosen fingerprints, run as a child process so the app never
    holds a plaintext; returns what it printed (dry run: the diff, secrets, policy and plan)."""

    def run(fingerprints: list[str]) -> str:
        argv = [sys.executable, "-m", "secretsweep", "migrate", str(root)]
        for fp in fingerprints:
            argv += ["--fingerprint", fp]
        if apply:
            argv.append("--apply")
        res = subprocess.run(argv, capture_output=True, text=True)
        return (res.stdout + ("\n" + res.stderr if res.stderr else "")).strip() or f"migrate exited {res.returncode}"

    return run


def cmd_triage(args: argparse.Namespace) -> int:
    from secretsweep.cli import baseline_path
    from secretsweep.cli_baseline import now, who
    from secretsweep.history_audit import store_for
    from secretsweep.sources.history import open_repo
    from secretsweep.store import default_path
    from secretsweep.triage import Filters, TriageSession

    try:
        from secretsweep.tui.app import TriageApp
    except ImportError:
        raise UsageError("triage needs Textual: pip install 'secretsweep[tui]'") from None
    repo = open_repo(Path(args.path))
    root = repo.work_tree or repo.git_dir
    store_path = Path(args.store) if getattr(args, "store", None) else default_path(root)
    fresh = not store_path.exists()
    store = store_for(repo, getattr(args, "store", None))
    try:
        if fresh:
            _first_audit(args, repo, store)
        elif store.message:
            print(f"secretsweep: note: {store.message}", file=sys.stderr)
        findings = store.load_findings()
    finally:
        store.close()
    baseline = Baseline.load(baseline_path(args, root))
    session = TriageSession(findings, BaselineSink(baseline),
                            filters=Filters(min_confidence=Confidence(getattr(args, "min_confidence", "low") or "low")))
    root = repo.work_tree or repo.path
    plan_preview = getattr(args, "plan_preview", None) or _migrate_runner(root, apply=False)
    apply_migration = getattr(args, "apply_migration", None) or _migrate_runner(root, apply=True)
    app = TriageApp(session, context_loader(repo.git_dir, repo.work_tree), plan_preview, apply_migration,
                    who=who(root), clock=now)
    app.run()
    return EXIT_CLEAN


def _first_audit(args: argparse.Namespace, repo: Any, store: Any) -> None:
    """The first history scan, as `scan --history` runs it, so there is something to triage."""
    from secretsweep.cli import _load_rules
    from secretsweep.engine import build_detector
    from secretsweep.history_audit import audit
    from secretsweep.progress import ScanProgress
    from secretsweep.sources.base import DEFAULT_MAX_SIZE

    print("secretsweep: no findings store yet: scanning the history first…", file=sys.stderr)
    rules = _load_rules(argparse.Namespace(
        rules=getattr(args, "rules", None) or [], no_builtin_rules=getattr(args, "no_builtin_rules", False),
        only_rule=getattr(args, "only_rule", None) or [], disable_rule=getattr(args, "disable_rule", None) or []))
    detector = build_detector(rules)
    with ScanProgress(sys.stderr.isatty(), "history") as bar:
        result = audit(repo, detector, store, max_size=DEFAULT_MAX_SIZE,
                       progress=bar.update, on_total=bar.set_total)
    for note in result.notes:
        print(f"secretsweep: note: {note}", file=sys.stderr)
