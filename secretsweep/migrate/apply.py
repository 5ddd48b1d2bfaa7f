"""Prepare (plan + rewrite in memory), show (dry run: a diff, no AWS call) and apply (a journaled transaction).

The journal (`.secretsweep/migrate-journal.json`) holds no plaintext: paths with the sha256 of their
content before and after, backup copies under `.secretsweep/`, and the secrets created. Any failure
restores every file and deletes every secret this run created; a journal left by an interrupted run
is rolled back before anything else happens.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretsweep import localdir
from secretsweep.errors import AwsError, MigrationRolledBack, SecretsweepError, UsageError
from secretsweep.migrate import plan as planning
from secretsweep.migrate.aws import CREATED_BY, SecretsManager, scrub
from secretsweep.migrate.config_files import RewriteError, rewrite_config
from secretsweep.migrate.plan import MigrationPlan
from secretsweep.migrate.python_codemod import LiteralTarget, rewrite_python
from secretsweep.model import Finding

WORK_DIR = localdir.LOCAL_DIR
JOURNAL = "migrate-journal.json"
HELPER_FILE = f"{planning.HELPER_MODULE}.py"

HELPER_SOURCE = '''"""Secrets read from AWS Secrets Manager at run time (added by `secretsweep migrate`).

`get_secret(name)` returns a secret's string; `get_secret(name, key)` one key of a JSON secret.
Values are cached for the life of the process. AWS_ENDPOINT_URL and AWS_REGION are honoured.
"""

from __future__ import annotations

import functools
import json
import os

PREFIX = "aws-secretsmanager://"


@functools.lru_cache(maxsize=None)
def _secret_string(secret_id: str) -> str:
    import boto3

    kwargs = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region_name"] = region
    client = boto3.client("secretsmanager", **kwargs)
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


def get_secret(secret_id: str, key: str | None = None) -> str:
    value = _secret_string(secret_id)
    if key is None:
        return value
    return str(json.loads(value)[key])


def resolve(value):
    """A config value, with an `aws-secretsmanager://NAME#KEY` reference replaced by the secret."""
    if isinstance(value, str) and value.startswith(PREFIX):
        name, _, key = value[len(PREFIX):].partition("#")
        return get_secret(name, key or None)
    return value


def resolve_env(environ=os.environ):
    """Resolve every reference in `environ` in place (call it after loading a .env file)."""
    for k, v in list(environ.items()):
        if v.startswith(PREFIX):
            environ[k] = resolve(v)
'''


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- prepare ---------------------------------------------------------------------------------------

@dataclass
class Prepared:
    plan: MigrationPlan
    findings: dict[str, Finding]
    before: dict[str, bytes]  # path -> bytes the plan was made from
    after: dict[str, bytes]  # path -> new bytes (only files that change; the helper included)
    warnings: list[str] = field(default_factory=list)
    loader_notes: list[str] = field(default_factory=list)

    @property
    def plaintexts(self) -> list[bytes]:
        return [f.secret for f in self.findings.values() if f.secret]


def prepare(findings: Sequence[Finding], files: Mapping[str, bytes], *, repo: str, prefix: str | None = None,
            region: str | None = None, kms_key_id: str | None = None, names: Mapping[str, str] | None = None,
            helper_exists: bytes | None = None) -> Prepared:
    """Plan and rewrite in memory; fingerprints with a location no rewriter can handle safely are dropped
    (with a warning naming file and line) and the rest re-planned."""
    excluded: set[str] = set()
    carried: list[str] = []
    for _ in range(len(findings) + 1):
        plan = planning.build_plan(findings, files, repo=repo, prefix=prefix, region=region, kms_key_id=kms_key_id,
                                   names=names, exclude=excluded)
        after, warnings, notes, refused = _rewrite(plan, findings, files)
        if not refused - excluded:
            break
        carried += warnings
        excluded |= refused
    warnings = list(dict.fromkeys(carried + warnings + plan.warnings))
    by_fp = {f.fingerprint: f for f in findings if plan.secret_of(f.fingerprint) is not None}
    needs_helper = any(planning.file_kind(p) is not None for p in after)
    if needs_helper and helper_exists is None:
        after[HELPER_FILE] = HELPER_SOURCE.encode()
    elif needs_helper and b"def get_secret" not in helper_exists:
        warnings.append(f"{HELPER_FILE} exists but defines no get_secret(); the rewritten code needs it")
    return Prepared(plan, by_fp, dict(files), after, warnings, notes)


def _rewrite(plan: MigrationPlan, findings: Sequence[Finding], files: Mapping[str, bytes]) -> tuple[
        dict[str, bytes], list[str], list[str], set[str]]:
    secrets = {f.fingerprint: f.secret for f in findings}
    after: dict[str, bytes] = {}
    warnings: list[str] = []
    notes: list[str] = []
    refused: set[str] = set()
    for path, reps in sorted(plan.by_path().items()):
        data = files[path]
        text = data.decode("utf-8", errors="replace")
        kind = planning.file_kind(path, text)
        if kind == planning.PYTHON:
            targets = [LiteralTarget(r.line, data[r.start:r.end] if r.whole == "url" else secrets[r.fingerprint],
                                     r.secret_name, r.key, r.fingerprint) for r in reps]
            try:
                res = rewrite_python(data.decode("utf-8"), targets, path)
            except (UnicodeDecodeError, SyntaxError, Exception) as exc:  # libcst ParserSyntaxError included
                warnings.append(f"{path}: cannot parse as Python ({type(exc).__name__}); left unchanged")
                refused |= {r.fingerprint for r in reps}
                continue
            warnings += res.warnings
            refused |= res.refused
            new = res.code.encode("utf-8")
        else:
            assert kind is not None
            try:
                res2 = rewrite_config(kind, data, reps, path, cloudformation=planning.is_cloudformation(kind, text))
            except RewriteError as exc:
                warnings.append(f"{exc}; left unchanged")
                refused |= {r.fingerprint for r in reps}
                continue
            warnings += res2.warnings
            refused |= res2.refused
            new = res2.data
            if res2.loader_note:
                notes.append(res2.loader_note)
        if new != data:
            after[path] = new
    return after, warnings, notes, refused


def secret_values(prep: Prepared) -> dict[str, str]:
    """Secret name -> the SecretString to store. In memory only."""
    out: dict[str, str] = {}
    for s in prep.plan.secrets:
        if s.kind == "aws-keypair":
            out[s.name] = json.dumps({k: prep.findings[fp].secret.decode("utf-8") for k, fp in s.keys.items()},
                                     sort_keys=True)
        elif s.kind == "connection-uri":
            r = next(r for r in prep.plan.replacements if r.secret_name == s.name)
            out[s.name] = json.dumps(planning.connection_fields(prep.before[r.path][r.start:r.end]), sort_keys=True)
        else:
            out[s.name] = prep.findings[s.fingerprints[0]].secret.decode("utf-8")
    return out


# -- showing ---------------------------------------------------------------------------------------

def redact(text: str, prep: Prepared) -> str:
    for f in prep.findings.values():
        if f.secret:
            text = text.replace(f.secret.decode("utf-8", errors="replace"), f.redacted)
    return text


def diff(prep: Prepared) -> str:
    chunks = []
    for path, new in sorted(prep.after.items()):
        old = prep.before.get(path)
        a = old.decode("utf-8", errors="replace").splitlines(keepends=True) if old is not None else []
        b = new.decode("utf-8", errors="replace").splitlines(keepends=True)
        chunks.append("".join(difflib.unified_diff(a, b, f"a/{path}" if old is not None else "/dev/null",
                                                   f"b/{path}")))
    return redact("".join(c if c.endswith("\n") else c + "\n" for c in chunks if c), prep)


def policy_for(prep: Prepared, arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    arns = arns or {}
    resources = [arns.get(s.name) or planning.arn_pattern(s.name, prep.plan.region) for s in prep.plan.secrets]
    kms = prep.plan.kms_key_id
    kms_arn = None
    if kms:
        if kms.startswith("arn:"):
            kms_arn = kms
        else:
            account = next((a.split(":")[4] for a in arns.values() if a.count(":") >= 5), "*")
            kind = "alias/" + kms.removeprefix("alias/") if kms.startswith("alias/") else f"key/{kms}"
            kms_arn = f"arn:aws:kms:{prep.plan.region or '*'}:{account}:{kind}"
    return planning.iam_policy(resources, kms_arn)


def summary(prep: Prepared, arns: Mapping[str, str] | None = None, actions: Mapping[str, str] | None = None,
            purge_file: str | None = None, policy_file: str | None = None) -> dict[str, Any]:
    arns = arns or {}
    return {
        "secrets": [{"name": s.name, "kind": s.kind, "keys": sorted(s.keys), "arn": arns.get(s.name),
                     "action": (actions or {}).get(s.name, "create"), "fingerprints": s.fingerprints,
                     "rules": s.rule_ids, "paths": s.paths} for s in prep.plan.secrets],
        "files": sorted(prep.after),
        "policy_file": policy_file,
        "policy": policy_for(prep, arns),
        "remediation": planning.remediation(prep.plan, arns, purge_file),
        "loader_changes": prep.loader_notes,
        "skipped": prep.plan.skipped,
        "warnings": prep.warnings,
    }


def render_text(prep: Prepared, info: Mapping[str, Any], dry_run: bool) -> str:
    out = []
    if dry_run:
        out.append("secretsweep migrate: dry run; nothing was changed (add --apply to do it)\n")
        out.append("== File changes\n")
        out.append(diff(prep) or "(none)\n")
    else:
        out.append("secretsweep migrate: applied\n")
        out.append("== Files changed (review with `git diff`, then commit)\n")
        out += [f"  {p}\n" for p in info["files"]] or ["  (none)\n"]
    verb = "to create" if dry_run else "in Secrets Manager"
    out.append(f"\n== Secrets {verb} ({len(info['secrets'])})\n")
    for s in info["secrets"]:
        keys = f"JSON keys: {', '.join(s['keys'])}" if s["keys"] else "a plain string"
        where = f" -> {s['arn']}" if s.get("arn") else ""
        act = "" if dry_run else f" [{s['action']}]"
        out.append(f"  {s['name']}{where}{act}\n      {keys}; from {', '.join(s['paths'])} ({', '.join(s['rules'])})\n")
    out.append(f"\n== IAM policy ({info.get('policy_file') or 'secretsweep-iam-policy.json'})\n")
    out.append(json.dumps(info["policy"], indent=2) + "\n")
    out.append("\n" + planning.remediation_markdown(info["remediation"], info["loader_changes"]))
    if info["skipped"]:
        out.append("\n== Not migrated\n")
        out += [f"  {fp}: {why}\n" for fp, why in sorted(info["skipped"].items())]
    return redact("".join(out), prep)


# -- the working tree ------------------------------------------------------------------------------

def dirty_paths(root: Path) -> list[str]:
    """Changes git sees in the work tree, ignoring secretsweep's own working files."""
    try:
        res = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    if res.returncode != 0:
        return []  # not a git work tree: nothing to compare against
    out = []
    for line in res.stdout.splitlines():
        path = line[3:].strip().strip('"')
        if path.startswith(f"{WORK_DIR}/") or path.endswith(".secretsweep-baseline.json.lock"):
            continue
        out.append(path)
    return out


def _work_dir(root: Path) -> Path:
    return localdir.ensure(root / WORK_DIR)


def _write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is None and path.exists():
            mode = path.stat().st_mode & 0o7777
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


# -- the journal -----------------------------------------------------------------------------------

class Journal:
    def __init__(self, root: Path, run: str | None = None, doc: dict[str, Any] | None = None) -> None:
        self.root = root
        self.path = root / WORK_DIR / JOURNAL
        self.doc = doc or {"version": 1, "tool": "secretsweep migrate", "run": run or uuid.uuid4().hex[:12],
                           "started": now(), "state": "running", "files": [], "secrets": []}

    @property
    def run(self) -> str:
        return str(self.doc["run"])

    @classmethod
    def load(cls, root: Path) -> Journal | None:
        path = root / WORK_DIR / JOURNAL
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable migrate journal ({type(exc).__name__}); inspect it, "
                             "restore from .secretsweep/migrate-backup, then delete it") from None
        return cls(root, doc=doc)

    def save(self) -> None:
        _work_dir(self.root)
        _write_atomic(self.path, (json.dumps(self.doc, indent=2, sort_keys=True) + "\n").encode(), 0o600)

    def backup_dir(self) -> Path:
        return self.root / WORK_DIR / "migrate-backup" / self.run

    def file(self, rel: str) -> dict[str, Any] | None:
        return next((f for f in self.doc["files"] if f["path"] == rel), None)

    def discard(self) -> None:
        shutil.rmtree(self.backup_dir(), ignore_errors=True)
        with _suppress():
            self.path.unlink()
        with _suppress():
            (self.root / WORK_DIR / "migrate-backup").rmdir()
        work = self.root / WORK_DIR
        with _suppress():
            if {p.name for p in work.iterdir()} == {".gitignore"}:  # only what migrate put there: leave no trace
                (work / ".gitignore").unlink()
                work.rmdir()


def rollback(journal: Journal, aws: Callable[[], SecretsManager] | None) -> list[str]:
    """Undo what the journal records; the problems that remain (empty: everything undone)."""
    problems: list[str] = []
    for f in reversed(journal.doc["files"]):
        path = journal.root / f["path"]
        try:
            current = path.read_bytes() if path.exists() else None
            now_hash = sha256(current) if current is not None else None
            if now_hash == f["sha256_before"]:
                continue  # never written, or already restored
            if now_hash != f.get("sha256_after") and not (current is None and f.get("sha256_after")):
                # Not what migrate wrote: someone else's edit, which is theirs to keep.
                if f.get("writing"):
                    problems.append(f"{f['path']}: changed by something else since migrate wrote it; the original "
                                    f"is in {f['backup']}")
                continue
            if f["sha256_before"] is None:
                if current is not None:
                    path.unlink()
            else:
                backup = journal.root / f["backup"]
                data = backup.read_bytes()
                if sha256(data) != f["sha256_before"]:
                    problems.append(f"{f['path']}: the backup does not match the journal; restore it by hand")
                    continue
                _write_atomic(path, data)
        except OSError as exc:
            problems.append(f"{f['path']}: cannot restore: {exc.strerror}")
    todo = [s for s in journal.doc["secrets"] if s["action"] in ("create", "overwrite") and s.get("started")]
    if todo:
        client = None
        try:
            client = aws() if aws else None
        except SecretsweepError as exc:
            problems.append(str(exc))
        for s in reversed(todo):
            if client is None:
                problems.append(f"secret {s['name']} was not undone (no AWS client)")
                continue
            try:
                if s["action"] == "create":
                    existing = client.describe(s["name"])
                    if existing is not None and existing.tags.get("secretsweep-run") == journal.run:
                        client.delete(s["name"])
                elif s.get("previous_version") and s.get("new_version"):
                    client.restore_version(s["name"], s["previous_version"], s["new_version"])
            except SecretsweepError as exc:
                problems.append(f"secret {s['name']} could not be undone: {exc}")
    if problems:
        journal.doc["state"] = "rollback-incomplete"
        journal.doc["problems"] = problems
        journal.save()
    else:
        journal.discard()
    return problems


# -- applying --------------------------------------------------------------------------------------

@dataclass
class Applied:
    arns: dict[str, str]
    actions: dict[str, str]  # name -> created | reused | overwritten


def apply(prep: Prepared, root: Path, aws: Callable[[], SecretsManager], *, source_repo: str,
          overwrite: bool = False, extra_files: Mapping[str, bytes] | None = None,
          protect: Sequence[str] = (), finalize: Callable[[Applied], None] | None = None) -> Applied:
    """Create the secrets, write the files, run `finalize` (the baseline update): all or nothing.

    `extra_files` (path -> bytes) are written too (the policy); `protect` names files `finalize` writes,
    backed up so a rollback restores them."""
    values = secret_values(prep)
    journal = Journal(root)
    writes = dict(prep.after)
    writes.update(extra_files or {})
    changed_anything = False
    client: SecretsManager | None = None
    try:
        client = aws()
        # Back up every file first, and record what it held.
        backup = journal.backup_dir()
        for rel in sorted(set(writes) | set(protect)):
            path = root / rel
            old = path.read_bytes() if path.exists() else None
            if rel in prep.before and old != prep.before[rel]:
                raise MigrationRolledBack(f"{rel} changed while migrating")
            entry: dict[str, Any] = {"path": rel, "sha256_before": sha256(old) if old is not None else None,
                                     "backup": None}
            if old is not None:
                b = backup / rel
                b.parent.mkdir(parents=True, exist_ok=True)
                b.write_bytes(old)
                os.chmod(b, 0o600)
                entry["backup"] = str(b.relative_to(root))
            if rel in writes:
                entry["sha256_after"] = sha256(writes[rel])
            journal.doc["files"].append(entry)
        journal.save()

        arns: dict[str, str] = {}
        actions: dict[str, str] = {}
        # First look at every name, so a conflict stops the run before anything is created.
        existing_of: dict[str, Any] = {}
        for s in prep.plan.secrets:
            existing = client.describe(s.name)
            if existing is not None and existing.deleted:
                raise AwsError(f"secret {s.name} exists but is scheduled for deletion; restore it "
                               "(`aws secretsmanager restore-secret`) or choose another name in the plan")
            if existing is not None and not _same(client.get_value(s.name), values[s.name]) and not overwrite:
                raise AwsError(f"secret {s.name} already exists with a different value; pass --overwrite to "
                               "store a new version, or give it another name in the plan (--plan)")
            existing_of[s.name] = existing
        for s in prep.plan.secrets:
            rec: dict[str, Any] = {"name": s.name, "fingerprints": s.fingerprints, "action": "check"}
            journal.doc["secrets"].append(rec)
            existing = existing_of[s.name]
            if existing is None:
                rec.update(action="create", started=True)
                journal.save()
                tags = {"created-by": CREATED_BY, "source-repo": source_repo[:256],
                        "source-path": ",".join(s.paths)[:256], "secretsweep-run": journal.run}
                arn = client.create(s.name, values[s.name], tags,
                                    f"Moved from {source_repo} by secretsweep migrate ({', '.join(s.rule_ids)})")
                changed_anything = True
                actions[s.name] = "created"
            elif _same(client.get_value(s.name), values[s.name]):
                rec["action"] = "reuse"
                actions[s.name] = "reused"
                arn = existing.arn
            else:
                rec.update(action="overwrite", started=True, previous_version=client.current_version(s.name))
                journal.save()
                rec["new_version"] = client.put_value(s.name, values[s.name])
                changed_anything = True
                actions[s.name] = "overwritten"
                arn = existing.arn
            rec["arn"] = arn
            arns[s.name] = arn
            journal.save()

        for rel, data in sorted(writes.items()):
            path = root / rel
            entry = journal.file(rel)
            assert entry is not None
            current = path.read_bytes() if path.exists() else None
            if (sha256(current) if current is not None else None) != entry["sha256_before"]:
                raise MigrationRolledBack(f"{rel} changed while migrating")
            entry["writing"] = True
            journal.save()
            _write_atomic(path, data)
            changed_anything = True
            if path.read_bytes() != data:
                raise MigrationRolledBack(f"{rel}: the written file does not read back")
        applied = Applied(arns, actions)
        if finalize is not None:
            finalize(applied)
        journal.doc["state"] = "done"
        journal.save()
        journal.discard()
        return applied
    except BaseException as exc:
        if isinstance(exc, AwsError) and not changed_anything:
            rollback(journal, lambda: client)
            raise
        what = scrub(str(exc) if isinstance(exc, SecretsweepError) else f"{type(exc).__name__}: {exc}",
                     prep.plaintexts)
        problems = rollback(journal, lambda: client)
        if isinstance(exc, KeyboardInterrupt):
            raise
        if problems:
            raise MigrationRolledBack(f"{what}; rollback INCOMPLETE: {'; '.join(problems)} "
                                      f"(journal kept in {journal.path})") from None
        raise MigrationRolledBack(f"{what}; every file was restored and every secret this run created was "
                                  "deleted: nothing changed") from None


def _same(current: str | None, wanted: str) -> bool:
    if current == wanted:
        return True
    try:
        return current is not None and json.loads(current) == json.loads(wanted)
    except ValueError:
        return False
