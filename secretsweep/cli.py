"""Command line: parses arguments, wires sources, detector and reports together, and turns every
SecretsweepError into one line on stderr and its exit code. Heavy modules are imported per command
so the pre-commit hook starts fast.

Exit codes: 0 nothing found, 1 findings, 2 usage or configuration error, 3 AWS error (nothing
changed), 4 migration rolled back, 70 internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secretsweep import __version__
from secretsweep.errors import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    SecretsweepError,
    UsageError,
)

if TYPE_CHECKING:
    from secretsweep.model import Finding, Rule
    from secretsweep.scan import ScanResult

EXIT_INTERNAL = 70

EPILOG = """exit codes:
  0    no findings (or only findings already decided in the baseline)
  1    findings were reported
  2    usage or configuration error (bad path, broken rule, corrupt baseline)
  3    AWS error; nothing was changed
  4    migration failed and was rolled back
  70   internal error (set SECRETSWEEP_DEBUG=1 for the traceback)
  130  interrupted
"""


# -- argument parsing ------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (and `--help` for the rest), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _size(text: str) -> int:
    units = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
    t = text.strip().upper()
    num = t.rstrip("KMGB")
    try:
        return int(float(num) * units[t[len(num):]])
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 10MB, 512K or a number of bytes)") from None


def _add_rule_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rules")
    g.add_argument("--rules", action="append", type=Path, default=[], metavar="DIR",
                   help="also load rule files (*.toml) from DIR or FILE; repeatable")
    g.add_argument("--no-builtin-rules", action="store_true", help="do not load the built-in rules")
    g.add_argument("--only-rule", action="append", default=[], metavar="PREFIX",
                   help="use only rules whose id starts with PREFIX; repeatable")
    g.add_argument("--disable-rule", action="append", default=[], metavar="PREFIX",
                   help="do not use rules whose id starts with PREFIX; repeatable")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    from secretsweep.report import FORMATS

    g = p.add_argument_group("output")
    g.add_argument("-f", "--format", choices=FORMATS, default="text", help="report format (default: text)")
    g.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE, not stdout")
    g.add_argument("--show-secrets", action="store_true",
                   help="print secrets in full (never the default; never stored)")
    g.add_argument("--min-confidence", choices=("low", "medium", "high"), default="medium",
                   help="report only findings at or above this confidence (default: medium; "
                        "low adds bare high-entropy strings and generic matches in tests)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary on stderr")


def _add_baseline_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("baseline")
    g.add_argument("--baseline", type=Path, metavar="FILE",
                   help="decisions file (default: .secretsweep-baseline.json at the repository root, if present)")
    g.add_argument("--no-baseline", action="store_true", help="report every finding, whatever the baseline says")
    g.add_argument("--only-new", action="store_true",
                   help="hide findings confirmed in the baseline too: report only what it does not know")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="secretsweep",
        description="Find leaked credentials in code and git history.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"secretsweep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    scan = sub.add_parser("scan", help="scan a folder or file for secrets", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("path", nargs="?", default=".", type=Path, help="folder or file to scan (default: .)")
    scan.add_argument("--max-file-size", type=_size, default="10MB", metavar="SIZE",
                      help="skip files larger than SIZE (default: 10MB)")
    scan.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                      help="skip paths matching GLOB (gitignore syntax); repeatable")
    scan.add_argument("--no-inline-allow", action="store_true",
                      help="also report secrets allowed inline (secretsweep:allow, gitleaks:allow, ...), marked")
    scan.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                      help="worker processes for large scans (default: one per core)")
    scan.add_argument("--no-hyperscan", action="store_true", help="use the pure-regex matcher")
    scan.add_argument("--staged", action="store_true",
                      help="scan what is staged for the next commit (the pre-commit hook does this)")
    _add_baseline_options(scan)
    hist = scan.add_argument_group("history")
    hist.add_argument("--history", action="store_true",
                      help="scan every blob reachable from every ref (branches, tags, remotes, stash), once each")
    hist.add_argument("--branch", action="append", default=[], metavar="REF",
                      help="with --history: only what is reachable from REF; repeatable")
    hist.add_argument("--since", metavar="REV", help="with --history: only what is not reachable from REV")
    hist.add_argument("--store", type=Path, metavar="PATH",
                      help="findings store (default: REPO/.secretsweep/findings.db)")
    hist.add_argument("--recurse-submodules", action="store_true",
                      help="with --history: also audit checked-out submodules (each keeps its own store)")
    _add_output_options(scan)
    _add_rule_options(scan)
    scan.set_defaults(func=cmd_scan)

    report = sub.add_parser("report", help="report the findings of the last history scan, without rescanning",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("path", nargs="?", default=".", type=Path, help="the repository (default: .)")
    _add_baseline_options(report)
    report.add_argument("--store", type=Path, metavar="PATH",
                        help="findings store (default: REPO/.secretsweep/findings.db)")
    _add_output_options(report)
    report.set_defaults(func=cmd_report, no_inline_allow=False)

    bl = sub.add_parser("baseline", help="create, update, prune or import the baseline of decisions")
    bl_sub = bl.add_subparsers(dest="action", metavar="ACTION")
    bl_sub.required = True
    for action, text in (("create", "record every current finding as known (unreviewed)"),
                         ("update", "add findings the baseline does not know yet"),
                         ("prune", "drop entries whose secret is no longer found, and list them")):
        a = bl_sub.add_parser(action, help=text)
        a.add_argument("path", nargs="?", default=".", type=Path)
        a.add_argument("--baseline", type=Path, metavar="FILE")
        a.add_argument("--history", action="store_true", help="take findings from the whole history")
        if action == "create":
            a.add_argument("--force", action="store_true", help="replace an existing baseline")
        _add_rule_options(a)
        a.set_defaults(func=_lazy("cmd_baseline"))
    imp = bl_sub.add_parser("import", help="carry decisions over from detect-secrets, gitleaks or Betterleaks")
    imp.add_argument("file", type=Path, help=".secrets.baseline, .gitleaksignore or a gitleaks/Betterleaks JSON report")
    imp.add_argument("path", nargs="?", default=".", type=Path)
    imp.add_argument("--baseline", type=Path, metavar="FILE")
    _add_rule_options(imp)
    imp.set_defaults(func=_lazy("cmd_baseline"), action="import")

    decide = sub.add_parser("decide", help="record a decision for findings, by fingerprint")
    decide.add_argument("fingerprints", nargs="+", metavar="FINGERPRINT")
    decide.add_argument("--as", dest="status", required=True,
                        choices=("confirmed", "false_positive", "ignored", "unreviewed"))
    decide.add_argument("--reason", default="", help="why (required for ignored)")
    decide.add_argument("--path", default=Path("."), type=Path, help="the repository (default: .)")
    decide.add_argument("--baseline", type=Path, metavar="FILE")
    _add_rule_options(decide)
    decide.set_defaults(func=_lazy("cmd_decide"))

    hook = sub.add_parser("hook", help="install the git pre-commit hook")
    hook_sub = hook.add_subparsers(dest="hook_action", metavar="ACTION")
    hook_sub.required = True
    hi = hook_sub.add_parser("install", help="write .git/hooks/pre-commit (an existing hook is kept and run first)")
    hi.add_argument("path", nargs="?", default=".", type=Path)
    hi.set_defaults(func=_lazy("cmd_hook_install"))

    tri = sub.add_parser("triage", help="review findings in a terminal UI; decisions go to the baseline at once")
    tri.add_argument("path", nargs="?", default=".", type=Path, help="the repository (default: .)")
    tri.add_argument("--store", type=Path, metavar="PATH",
                     help="findings store (default: REPO/.secretsweep/findings.db)")
    tri.add_argument("--baseline", type=Path, metavar="FILE")
    tri.add_argument("--min-confidence", choices=("low", "medium", "high"), default="medium")
    tri.set_defaults(func=_lazy("cmd_triage", "cli_triage"))

    mig = sub.add_parser("migrate", help="move confirmed secrets into AWS Secrets Manager and rewrite the code",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from secretsweep.cli_migrate import add_migrate_arguments

    add_migrate_arguments(mig)
    mig.set_defaults(func=_lazy("cmd_migrate", "cli_migrate"))

    rules = sub.add_parser("rules", help="list or check detection rules")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="ACTION")
    rules_sub.required = True
    rl = rules_sub.add_parser("list", help="list the rules in use")
    rl.add_argument("--format", choices=("text", "json"), default="text")
    _add_rule_options(rl)
    rl.set_defaults(func=cmd_rules_list)
    rc = rules_sub.add_parser("check", help="compile every rule and run its examples")
    _add_rule_options(rc)
    rc.set_defaults(func=cmd_rules_check)
    return parser


# -- commands --------------------------------------------------------------------------------------

def _lazy(name: str, module: str = "cli_baseline") -> Any:
    """A command living in another cli_* module, imported only when it runs."""
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(f"secretsweep.{module}"), name)(args))

    return run


def _load_rules(args: argparse.Namespace) -> list[Rule]:
    from secretsweep.engine import cache_dir
    from secretsweep.rules import load_rules

    rules = load_rules(args.rules, builtins=not args.no_builtin_rules, only=args.only_rule,
                       disable=args.disable_rule, cache=cache_dir())
    floor = getattr(args, "min_confidence", None)
    if floor is None:
        return rules
    from secretsweep.model import Confidence

    # A rule whose findings would all be hidden is not run at all (the bare high-entropy rule, by default).
    kept = [r for r in rules if r.confidence.rank >= Confidence(floor).rank]
    if not kept:
        raise UsageError(f"no rule reaches --min-confidence {floor}")
    return kept


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write the report: {exc.strerror}") from None


def _visible(findings: list[Finding], args: argparse.Namespace) -> list[Finding]:
    """Findings to report: inline-allowed locations dropped (unless audited) and the confidence floor applied."""
    from dataclasses import replace

    from secretsweep.model import Confidence

    floor = Confidence(getattr(args, "min_confidence", "medium")).rank
    out = []
    for f in findings:
        if f.confidence.rank < floor:
            continue
        if not getattr(args, "no_inline_allow", False):
            kept = tuple(o for o in f.occurrences if not o.allowed_by)
            if not kept:
                continue
            if len(kept) != len(f.occurrences):
                f = replace(f, occurrences=kept)
        out.append(f)
    return out


def baseline_path(args: argparse.Namespace, root: Path) -> Path:
    """--baseline, else .secretsweep-baseline.json at the top of the work tree holding `root` (or in `root`)."""
    from secretsweep.model import BASELINE_FILE

    if getattr(args, "baseline", None) is not None:
        return Path(args.baseline)
    folder = root if root.is_dir() else root.parent
    if (folder / BASELINE_FILE).exists():
        return folder / BASELINE_FILE
    top = _git_toplevel(folder)
    return (top or folder) / BASELINE_FILE


def _git_toplevel(folder: Path) -> Path | None:
    import subprocess

    try:
        res = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(res.stdout.strip()) if res.returncode == 0 and res.stdout.strip() else None


def _against_baseline(findings: list[Finding], args: argparse.Namespace, root: Path) -> tuple[
        list[Finding], dict[str, Any]]:
    """Findings the baseline does not settle, and the decisions to show beside them."""
    if args.no_baseline:
        return findings, {}
    from secretsweep.baseline import Baseline

    path = baseline_path(args, root)
    if args.baseline is not None and not path.exists():
        raise UsageError(f"{path}: no such baseline (create one with `secretsweep baseline create`)")
    baseline = Baseline.load(path)
    shown = []
    for f in findings:
        d = baseline.get(f.fingerprint)
        if d is None or (d.status.reported and not args.only_new):
            shown.append(f)
    return shown, baseline.entries


def _summary(result: ScanResult, reported: int) -> dict[str, Any]:
    return {
        "blobs": result.blobs,
        "bytes": result.bytes,
        "duplicates": result.duplicates,
        "skipped": dict(result.skipped.counts),
        "timed_out_rules": dict(result.timed_out),
        "findings": reported,
        "seconds": round(result.elapsed, 3),
        **result.extra,
    }


def _print_summary(result: ScanResult, reported: int, what: str) -> None:
    mb = result.bytes / 1e6
    rate = mb / result.elapsed if result.elapsed > 0 else 0.0
    parts = [f"scanned {result.blobs} {what} ({mb:.1f} MB) in {result.elapsed:.2f}s ({rate:.0f} MB/s)"]
    if result.duplicates:
        parts.append(f"{result.duplicates} duplicate(s) scanned once")
    parts.append(f"{reported} finding(s)")
    print("secretsweep: " + "; ".join(parts), file=sys.stderr)
    _print_skips(result)


def _print_skips(result: ScanResult) -> None:
    """What was skipped, by reason (missing objects by name), and rules that gave up on some blob."""
    from secretsweep.sources.base import MISSING_OBJECT

    if result.skipped.total:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.counts.items()))
        print(f"secretsweep: skipped {result.skipped.total}: {reasons}", file=sys.stderr)
        missing = result.skipped.examples.get(MISSING_OBJECT, [])
        if missing:
            print(f"secretsweep: missing or corrupt objects: {', '.join(missing[:20])}", file=sys.stderr)
    if result.timed_out:
        rules = ", ".join(sorted(result.timed_out))
        print(f"secretsweep: some blobs were too slow for rule(s) {rules} and were not fully checked by them",
              file=sys.stderr)


def _report(findings: list[Finding], rules: list[Rule], summary: dict[str, Any], args: argparse.Namespace,
            decisions: dict[str, Any] | None = None) -> None:
    from secretsweep.report import ReportData, formatter

    data = ReportData(findings, {r.id: r for r in rules}, decisions or {}, summary=summary,
                      show_secrets=args.show_secrets)
    color = args.format == "text" and args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _emit(formatter(args.format, color=color).format(data), args.output)


def cmd_scan_history(args: argparse.Namespace) -> int:
    from secretsweep.sources.history import HistoryLog, open_repo

    if args.show_secrets:
        raise UsageError("--show-secrets is not available with --history: the findings store keeps no plaintext")
    repo = open_repo(args.path)
    # git starts its walk (reading the refs and the first commits) while the rest is imported and the rules load.
    log = HistoryLog(repo, args.branch, args.since)
    log.start()
    try:
        from secretsweep.engine import build_detector
        from secretsweep.history_audit import audit, store_for
        from secretsweep.progress import ScanProgress

        rules = _load_rules(args)
        detector = build_detector(rules, use_hyperscan=not args.no_hyperscan)
        store = store_for(repo, args.store)
        try:
            with ScanProgress(not args.quiet, "history") as bar:
                result = audit(repo, detector, store, branch=args.branch, since=args.since,
                               max_size=args.max_file_size, jobs=args.jobs, progress=bar.update,
                               on_total=bar.set_total, recurse_submodules=args.recurse_submodules, log=log)
        finally:
            store.close()
    finally:
        log.close()
    findings, decisions = _against_baseline(_visible(result.findings, args), args, repo.work_tree or repo.git_dir)
    summary = {**_summary(result.scan, len(findings)), "refs": result.refs, "commits": result.commits,
               "unique_blobs": result.unique_blobs, "new_blobs": result.new_blobs,
               "seconds": round(result.scan.elapsed, 3)}
    _report(findings, rules, summary, args, decisions)
    if not args.quiet:
        s = result.scan
        mb = s.bytes / 1e6
        print(f"secretsweep: {result.refs} refs, {result.commits} commits, {result.unique_blobs} unique blobs "
              f"({result.new_blobs} new, {mb:.1f} MB scanned) in {s.elapsed:.1f}s "
              f"({mb / max(s.elapsed, 1e-9):.0f} MB/s); {len(findings)} finding(s)", file=sys.stderr)
        _print_skips(s)
        for note in result.notes:
            print(f"secretsweep: note: {note}", file=sys.stderr)
        print(f"secretsweep: findings stored in {result.store_path}; `secretsweep report` shows them again",
              file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_CLEAN


def cmd_report(args: argparse.Namespace) -> int:
    from secretsweep.history_audit import store_for
    from secretsweep.sources.history import open_repo
    from secretsweep.store import FindingsStore

    if args.store is not None:
        if not args.store.exists():
            raise UsageError(f"{args.store}: no findings store there (run `secretsweep scan --history` first)")
        store = FindingsStore(args.store)
    else:
        store = store_for(open_repo(args.path), None)
    try:
        found = _visible(store.load_findings(), args)
        summary = {**(store.last_summary() or {})}
    finally:
        store.close()
    findings, decisions = _against_baseline(found, args, args.path)
    summary["findings"] = len(findings)
    _report(findings, _rules_for_report(), summary, args, decisions)
    return EXIT_FINDINGS if findings else EXIT_CLEAN


def _rules_for_report() -> list[Rule]:
    """Rule names for the report; a report still works when the rule files cannot be read."""
    from secretsweep.engine import cache_dir
    from secretsweep.rules import load_rules

    try:
        return load_rules(cache=cache_dir())
    except SecretsweepError:
        return []


def cmd_scan(args: argparse.Namespace) -> int:
    if args.history:
        return cmd_scan_history(args)
    if args.branch or args.since:
        raise UsageError("--branch and --since go with --history")
    if args.staged:
        return cmd_scan_staged(args)
    from secretsweep import scan as scanner
    from secretsweep.engine import build_detector
    from secretsweep.sources.worktree import WorktreeSource

    rules = _load_rules(args)
    source = WorktreeSource(args.path, max_size=args.max_file_size, exclude=args.exclude)
    detector = build_detector(rules, use_hyperscan=not args.no_hyperscan)
    paths = source.paths()
    size = source.total_size() if len(paths) > 200 else 0
    result = scanner.run(source, detector, jobs=args.jobs, size_hint=size)
    findings, decisions = _against_baseline(_visible(result.findings, args), args, args.path)
    _report(findings, rules, _summary(result, len(findings)), args, decisions)
    if not args.quiet:
        _print_summary(result, len(findings), "files")
    return EXIT_FINDINGS if findings else EXIT_CLEAN


def cmd_scan_staged(args: argparse.Namespace) -> int:
    """The pre-commit check: what the commit adds, against the baseline and inline allows."""
    from dataclasses import replace

    from secretsweep import scan as scanner
    from secretsweep.engine import build_detector
    from secretsweep.sources.staged import StagedSource

    source = StagedSource(args.path, max_size=args.max_file_size)
    if not source.entries:
        return EXIT_CLEAN  # nothing staged: nothing to say
    rules = _load_rules(args)
    detector = build_detector(rules, use_hyperscan=not args.no_hyperscan)
    result = scanner.run(source, detector, jobs=1)
    # Only lines this commit adds: a secret already committed is the history audit's business.
    added = []
    for f in result.findings:
        kept = tuple(o for o in f.occurrences if source.adds_line(o.origin.path, o.line))
        if kept:
            added.append(replace(f, occurrences=kept))
    findings, decisions = _against_baseline(_visible(added, args), args, source.top)
    _report(findings, rules, _summary(result, len(findings)), args, decisions)
    if findings and not args.quiet:
        print(_BLOCKED.format(n=len(findings), fp=findings[0].fingerprint), file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_CLEAN


_BLOCKED = """secretsweep: this commit adds {n} secret(s) (shown redacted above). Ways forward:
  1. remove it from the change and read it at run time (`secretsweep migrate` moves it to AWS Secrets Manager);
  2. if it is not a secret, allow it inline: a comment `secretsweep:allow <reason>` on its line;
  3. or decide it in the baseline: `secretsweep decide {fp} --as false_positive` (or `secretsweep triage`)."""


def cmd_rules_list(args: argparse.Namespace) -> int:
    rules = _load_rules(args)
    if args.format == "json":
        import json

        rows = [{"id": r.id, "name": r.name, "severity": r.severity.value, "confidence": r.confidence.value,
                 "keywords": list(r.keywords), "source": r.source} for r in rules]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        width = max(len(r.id) for r in rules)
        for r in rules:
            sys.stdout.write(f"{r.id:{width}}  {r.severity.value:8}  {r.confidence.value:6}  {r.name}\n")
        sys.stdout.write(f"{len(rules)} rules\n")
    return EXIT_CLEAN


def cmd_rules_check(args: argparse.Namespace) -> int:
    from secretsweep.rules import check_rule

    rules = _load_rules(args)
    problems = 0
    for r in rules:
        for p in check_rule(r):
            problems += 1
            print(f"{r.source}: rule {r.id!r}: {p}", file=sys.stderr)
    if problems:
        print(f"secretsweep: {problems} problem(s) in {len(rules)} rules", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(rules)} rules checked: every example matches, no negative example does")
    return EXIT_CLEAN


# -- entry point -----------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SecretsweepError as exc:
        print(f"secretsweep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("secretsweep: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLEAN
    except Exception as exc:  # the one place an unexpected error becomes a message, not a traceback
        if os.environ.get("SECRETSWEEP_DEBUG"):
            raise
        print(f"secretsweep: internal error: {type(exc).__name__}: {exc} "
              "(set SECRETSWEEP_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL
