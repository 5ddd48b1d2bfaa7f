"""`secretsweep migrate`: wires the scan, the baseline and secretsweep.migrate together."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from secretsweep.errors import EXIT_CLEAN, UsageError


def add_migrate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=".", type=Path, help="the repository (default: .)")
    p.add_argument("--fingerprint", action="append", default=[], metavar="FP",
                   help="migrate this finding (default: every finding confirmed in the baseline); repeatable")
    p.add_argument("--apply", action="store_true", help="make the changes (default: a dry run that changes nothing)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--baseline", type=Path, metavar="FILE", help="decisions file (default: .secretsweep-baseline.json)")
    g = p.add_argument_group("plan")
    g.add_argument("--prefix", metavar="PREFIX", help="secret name prefix (default: the repository folder name)")
    g.add_argument("--write-plan", type=Path, metavar="FILE", help="write the plan (names and keys, no values) to FILE")
    g.add_argument("--plan", type=Path, metavar="FILE", help="use a reviewed plan file: its names, its findings only")
    g.add_argument("--policy-file", type=Path, metavar="FILE",
                   help="where --apply writes the IAM policy (default: secretsweep-iam-policy.json in the repository)")
    g.add_argument("--purge-expressions", type=Path, metavar="FILE",
                   help="write a `git filter-repo --replace-text` file (it HOLDS THE PLAINTEXT; mode 0600)")
    g.add_argument("--allow-dirty", action="store_true", help="run even with uncommitted changes")
    a = p.add_argument_group("AWS")
    a.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    a.add_argument("--profile", help="AWS profile")
    a.add_argument("--endpoint-url", metavar="URL", help="Secrets Manager endpoint (a moto server, LocalStack)")
    a.add_argument("--kms-key-id", metavar="KEY", help="KMS key to encrypt the secrets with")
    a.add_argument("--overwrite", action="store_true",
                   help="store a new version when a secret exists with a different value")


def _say(text: str) -> None:
    print(f"secretsweep: {text}", file=sys.stderr)


def cmd_migrate(args: argparse.Namespace) -> int:
    from secretsweep.baseline import Baseline
    from secretsweep.cli import baseline_path
    from secretsweep.engine import build_detector, cache_dir
    from secretsweep.migrate import apply as mig
    from secretsweep.migrate.aws import SecretsManager
    from secretsweep.model import Status
    from secretsweep.rules import load_rules
    from secretsweep.scan import run
    from secretsweep.sources.worktree import WorktreeSource

    root = Path(args.path)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder")
    root = root.resolve()
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")

    def aws(redact: list[bytes] | None = None) -> SecretsManager:
        return SecretsManager(region=region, profile=args.profile, endpoint_url=args.endpoint_url,
                              kms_key_id=args.kms_key_id, redact=redact or ())

    leftover = mig.Journal.load(root)
    if leftover is not None:
        if not args.apply:
            _say(f"a previous migration did not finish ({leftover.path}); --apply rolls it back first")
        else:
            _say(f"a previous migration did not finish: rolling it back ({leftover.path})")
            problems = mig.rollback(leftover, aws)
            if problems:
                raise UsageError("rollback of the previous migration is incomplete: " + "; ".join(problems))
            _say("previous migration rolled back")

    bpath = baseline_path(args, root)
    baseline = Baseline.load(bpath)
    wanted = set(args.fingerprint)
    names: dict[str, str] = {}
    if args.plan is not None:
        from secretsweep.migrate.plan import overrides_from_plan_file

        try:
            names, in_plan = overrides_from_plan_file(json.loads(args.plan.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{args.plan}: not a migrate plan file ({type(exc).__name__})") from None
        wanted = wanted | in_plan if wanted else in_plan
    if not wanted:
        wanted = {fp for fp, d in baseline.entries.items() if d.status is Status.CONFIRMED}
    if not wanted:
        _say(f"nothing to migrate: no finding is confirmed in {bpath} (`secretsweep decide FP --as confirmed`)")
        return EXIT_CLEAN

    result = run(WorktreeSource(root), build_detector(load_rules(cache=cache_dir())), jobs=1)
    findings = [f for f in result.findings if f.fingerprint in wanted and f.secret]
    missing = wanted - {f.fingerprint for f in findings}
    for fp in sorted(missing):
        d = baseline.get(fp)
        if d is not None and d.status is Status.MIGRATED:
            continue
        _say(f"{fp}: not found in the working tree of {root}; skipped")
    if not findings:
        _say("nothing to migrate: the findings are not in the working tree (already migrated?)")
        return EXIT_CLEAN

    files: dict[str, bytes] = {}
    for f in findings:
        for o in f.occurrences:
            if o.origin.path not in files:
                try:
                    files[o.origin.path] = (root / o.origin.path).read_bytes()
                except OSError:
                    pass
    helper = root / mig.HELPER_FILE
    prep = mig.prepare(findings, files, repo=root.name, prefix=args.prefix, region=region,
                       kms_key_id=args.kms_key_id, names=names,
                       helper_exists=helper.read_bytes() if helper.exists() else None)
    for w in prep.warnings:
        _say(f"warning: {mig.redact(w, prep)}")

    if args.write_plan is not None:
        args.write_plan.write_text(json.dumps(prep.plan.to_json(), indent=2) + "\n", encoding="utf-8")
        _say(f"plan written to {args.write_plan}; edit the names and pass it back with --plan")
    if args.purge_expressions is not None:
        _write_purge(args.purge_expressions, prep)

    policy_path = args.policy_file or root / "secretsweep-iam-policy.json"
    policy_shown = str(args.policy_file or "secretsweep-iam-policy.json")
    if not prep.plan.secrets:
        _say("nothing to migrate: no location can be rewritten safely (see the warnings)")
        return EXIT_CLEAN

    if not args.apply:
        info = mig.summary(prep, purge_file=_str(args.purge_expressions), policy_file=policy_shown)
        _emit(args, prep, info, dry_run=True)
        return EXIT_CLEAN

    dirty = [] if args.allow_dirty else mig.dirty_paths(root)
    if dirty:
        raise UsageError(f"uncommitted changes in {root} ({', '.join(dirty[:5])}{' ...' if len(dirty) > 5 else ''}); "
                         "commit or stash them first, or pass --allow-dirty")

    extra: dict[str, bytes] = {}
    policy_rel = _relative(policy_path, root)

    def finalize(applied: mig.Applied) -> None:
        policy = mig.policy_for(prep, applied.arns)
        data = (json.dumps(policy, indent=2) + "\n").encode()
        if policy_rel is not None:
            mig._write_atomic(root / policy_rel, data)
        else:
            mig._write_atomic(Path(policy_path), data)
        for s in prep.plan.secrets:
            for fp in s.fingerprints:
                d = baseline.get(fp)
                if d is None:
                    from secretsweep.model import Decision

                    d = Decision(fp, prep.findings[fp].rule_id, Status.CONFIRMED)
                baseline.decide(replace(d, status=Status.MIGRATED, secret_name=s.name,
                                        secret_arn=applied.arns[s.name]))
        baseline.save()

    protect = [p for p in (_relative(bpath, root), policy_rel) if p is not None]
    applied = mig.apply(prep, root, lambda: aws(prep.plaintexts), source_repo=_source_repo(root),
                        overwrite=args.overwrite, extra_files=extra, protect=protect, finalize=finalize)
    info = mig.summary(prep, applied.arns, applied.actions, _str(args.purge_expressions), str(policy_path))
    _emit(args, prep, info, dry_run=False)
    _say(f"{len(applied.arns)} secret(s) in Secrets Manager, {len(prep.after)} file(s) rewritten, "
         f"IAM policy in {policy_path}; {bpath.name} marks the findings migrated")
    return EXIT_CLEAN


def _str(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def _relative(path: Path, root: Path) -> str | None:
    try:
        return str(Path(os.path.abspath(path)).relative_to(root))
    except ValueError:
        return None


def _emit(args: argparse.Namespace, prep: object, info: dict, dry_run: bool) -> None:
    from secretsweep.migrate import apply as mig

    assert isinstance(prep, mig.Prepared)
    if args.format == "json":
        doc = {"dry_run": dry_run, **info}
        if dry_run:
            doc["diff"] = mig.diff(prep)
        sys.stdout.write(mig.redact(json.dumps(doc, indent=2), prep) + "\n")
    else:
        sys.stdout.write(mig.render_text(prep, info, dry_run))
    sys.stdout.flush()


def _source_repo(root: Path) -> str:
    import subprocess

    try:
        res = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True,
                             timeout=30)
        if res.returncode == 0 and res.stdout.strip():
            url = res.stdout.strip()
            if "@" in url and "://" in url:  # never a credential embedded in a remote URL
                scheme, rest = url.split("://", 1)
                url = f"{scheme}://{rest.split('@', 1)[1]}"
            return url
    except (OSError, subprocess.SubprocessError):
        pass
    return root.name


def _write_purge(path: Path, prep: object) -> None:
    from secretsweep.migrate import apply as mig

    assert isinstance(prep, mig.Prepared)
    lines = []
    for s in prep.plan.secrets:
        for fp in s.fingerprints:
            secret = prep.findings[fp].secret
            if b"\n" in secret or b"==>" in secret:
                _say(f"warning: {fp}: the secret spans lines; use a --replace-text regex for it by hand")
                continue
            lines.append(b"literal:" + secret + b"==>***REMOVED-" + s.name.encode() + b"***")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    _say(f"warning: {path} HOLDS THE PLAINTEXT of {len(lines)} secret(s): use it with "
         f"`git filter-repo --replace-text {path}`, keep it out of git, and delete it afterwards")
