"""Commands that write decisions: `baseline create|update|prune|import`, `decide`, and `hook install`."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import subprocess
import sys
from pathlib import Path

from secretsweep.baseline import Baseline
from secretsweep.cli import _load_rules, _visible, baseline_path
from secretsweep.errors import EXIT_CLEAN, UsageError
from secretsweep.model import Decision, Finding, Status


def who(root: Path) -> str:
    """Who decides: git's user.email (or user.name), else the login name."""
    for key in ("user.email", "user.name"):
        res = subprocess.run(["git", "-C", str(root if root.is_dir() else root.parent), "config", key],
                             capture_output=True, text=True)
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def current_findings(args: argparse.Namespace) -> list[Finding]:
    """Every finding in PATH now: the working tree, or with --history the whole history."""
    from secretsweep import scan as scanner
    from secretsweep.engine import build_detector

    rules = _load_rules(args)
    detector = build_detector(rules)
    if getattr(args, "history", False):
        from secretsweep.history_audit import audit, store_for
        from secretsweep.sources.base import DEFAULT_MAX_SIZE
        from secretsweep.sources.history import open_repo

        repo = open_repo(args.path)
        store = store_for(repo, None)
        try:
            return audit(repo, detector, store, max_size=DEFAULT_MAX_SIZE).findings
        finally:
            store.close()
    from secretsweep.sources.worktree import WorktreeSource

    result = scanner.run(WorktreeSource(args.path), detector)
    return _visible(result.findings, argparse.Namespace(min_confidence="medium", no_inline_allow=False))


def cmd_baseline(args: argparse.Namespace) -> int:
    path = baseline_path(args, args.path)
    if args.action == "create" and path.exists() and not args.force:
        raise UsageError(f"{path} already exists: `baseline update` adds to it (or --force to start over)")
    baseline = Baseline.load(path)
    if args.action == "create":  # --force: start over (saving merges, so drop every entry explicitly)
        for fp in list(baseline.entries):
            baseline.remove(fp)
    findings = current_findings(args)
    by, at = who(args.path), now()
    if args.action in ("create", "update"):
        added = 0
        for f in findings:
            if baseline.get(f.fingerprint) is None:
                baseline.decide(Decision(f.fingerprint, f.rule_id, Status.UNREVIEWED, "", by, at))
                added += 1
        baseline.save()
        print(f"secretsweep: {path}: {added} finding(s) added as unreviewed, {len(baseline.entries)} in all")
        return EXIT_CLEAN
    if args.action == "prune":
        present = {f.fingerprint for f in findings}
        gone = [d for fp, d in sorted(baseline.entries.items()) if fp not in present]
        for d in gone:
            baseline.remove(d.fingerprint)
            print(f"pruned {d.fingerprint} ({d.rule_id}, {d.status.value}): no longer found")
        baseline.save()
        print(f"secretsweep: {path}: {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} pruned, "
              f"{len(baseline.entries)} left")
        return EXIT_CLEAN
    from secretsweep.baseline_import import import_file

    imported = import_file(args.file, findings, by, at)
    carried = 0
    for d in imported.decisions:
        if baseline.get(d.fingerprint) is None or baseline.entries[d.fingerprint].status is Status.UNREVIEWED:
            baseline.decide(d)
            carried += 1
    baseline.save()
    print(f"secretsweep: {imported.source}: {carried} decision(s) carried into {path}")
    if imported.not_carried:
        print(f"secretsweep: {len(imported.not_carried)} entr{'y' if len(imported.not_carried) == 1 else 'ies'} "
              "could not be carried over:", file=sys.stderr)
        for line in imported.not_carried:
            print(f"  {line}", file=sys.stderr)
    return EXIT_CLEAN


def cmd_decide(args: argparse.Namespace) -> int:
    status = Status(args.status)
    if status is Status.IGNORED and not args.reason:
        raise UsageError("--as ignored needs --reason: say why it is acceptable")
    if status in (Status.MIGRATED,):
        raise UsageError("findings become migrated through `secretsweep migrate`")
    path = baseline_path(args, args.path)
    baseline = Baseline.load(path)
    rules_of = _rule_ids(args, [fp for fp in args.fingerprints if baseline.get(fp) is None])
    by, at = who(args.path), now()
    for fp in args.fingerprints:
        known = baseline.get(fp)
        rule_id = known.rule_id if known else rules_of.get(fp)
        if rule_id is None:
            raise UsageError(f"{fp}: no finding with this fingerprint in {args.path} or its findings store")
        baseline.decide(Decision(fp, rule_id, status, args.reason or "", by, at))
    baseline.save()
    print(f"secretsweep: {len(args.fingerprints)} finding(s) marked {status.value} in {path}")
    return EXIT_CLEAN


def _rule_ids(args: argparse.Namespace, fingerprints: list[str]) -> dict[str, str]:
    """Rule ids of fingerprints the baseline does not know yet: from the findings store, else a scan."""
    if not fingerprints:
        return {}
    found: dict[str, str] = {}
    try:
        from secretsweep.history_audit import store_for
        from secretsweep.sources.history import open_repo
        from secretsweep.store import default_path

        repo = open_repo(args.path)
        if default_path(repo.work_tree or repo.git_dir).exists():
            store = store_for(repo, None)
            try:
                found = {f.fingerprint: f.rule_id for f in store.load_findings()}
            finally:
                store.close()
    except Exception:  # no repository or no store: fall back to scanning
        found = {}
    if all(fp in found for fp in fingerprints):
        return found
    args.history = False
    found.update({f.fingerprint: f.rule_id for f in current_findings(args)})
    return found


def cmd_hook_install(args: argparse.Namespace) -> int:
    from secretsweep.hook import install

    hook, chained = install(args.path)
    print(f"secretsweep: installed {hook}" + (" (the hook that was there runs first)" if chained else ""))
    return EXIT_CLEAN

