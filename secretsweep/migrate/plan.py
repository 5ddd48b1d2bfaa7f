"""From confirmed findings and the files they sit in to a MigrationPlan. Pure: no I/O, no AWS.

A plan names a Secrets Manager secret for every finding (related values grouped into one JSON
secret), lists the spans to replace in each file, the least-privilege IAM policy and the
remediation checklist. It never holds a plaintext: the secret bytes stay on the Finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from secretsweep.model import Finding

HELPER_MODULE = "secretsweep_secrets"
HELPER_FUNCTION = "get_secret"
PLAN_VERSION = 1

# File kinds by suffix (or name); anything else has no rewriter and is reported, not touched.
PYTHON = "python"
ENV = "env"
YAML = "yaml"
JSON = "json"
TOML = "toml"
INI = "ini"


def file_kind(path: str, text: str = "") -> str | None:
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith((".py", ".pyw")):
        return PYTHON
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return ENV
    if name.endswith((".yaml", ".yml")):
        return YAML
    if name.endswith((".json", ".template")) and text.lstrip().startswith("{"):
        return JSON
    if name.endswith(".toml"):
        return TOML
    if name.endswith((".ini", ".cfg", ".conf")):
        return INI
    return None


def is_cloudformation(kind: str | None, text: str) -> bool:
    return kind in (YAML, JSON) and "AWSTemplateFormatVersion" in text or (
        kind in (YAML, JSON) and re.search(r"Type['\"]?\s*:\s*['\"]?AWS::", text) is not None)


# -- naming ----------------------------------------------------------------------------------------

_KEY = re.compile(r"""["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*(?::=|=>|[:=])\s*["']?""")
_URI = re.compile(rb"""[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s"'`<>@/:]{0,200}:""")


def slug(text: str) -> str:
    """A name part Secrets Manager accepts: lower case, words joined by '-'."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text)  # camelCase -> camel-Case
    text = re.sub(r"[^A-Za-z0-9/]+", "-", text).strip("-").lower()
    return text or "secret"


def assigned_name(line: str, col: int) -> str | None:
    """The variable or key a value at 0-based `col` of `line` is assigned to: the first `name =`/`name:` whose
    value runs, without a break, up to the secret."""
    for m in _KEY.finditer(line[:col]):
        between = line[m.end():col]
        if not re.search(r"""[\s,;'"(){}\[\]]""", between):
            name = m.group(1)
            return name.rsplit(".", 1)[-1] if "." in name and not name.startswith(".") else name
    return None


# -- the plan --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Replacement:
    """Replace bytes [start, end) of a file by a reference to `secret_name` (and JSON `key`)."""

    path: str
    start: int
    end: int
    line: int
    column: int
    fingerprint: str
    secret_name: str
    key: str | None
    whole: str = "secret"  # "secret": the span is the secret itself; "url": a connection URI holding it


@dataclass
class PlannedSecret:
    name: str
    # JSON key -> fingerprint; empty means a plain string secret holding one finding.
    keys: dict[str, str] = field(default_factory=dict)
    fingerprints: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    kind: str = "plain"  # plain | aws-keypair | connection-uri

    @property
    def grouped(self) -> bool:
        return bool(self.keys)


@dataclass
class MigrationPlan:
    repo: str
    prefix: str
    region: str | None
    secrets: list[PlannedSecret]
    replacements: list[Replacement]
    warnings: list[str]
    kms_key_id: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # fingerprint -> why

    def secret(self, name: str) -> PlannedSecret:
        return next(s for s in self.secrets if s.name == name)

    def by_path(self) -> dict[str, list[Replacement]]:
        out: dict[str, list[Replacement]] = {}
        for r in self.replacements:
            out.setdefault(r.path, []).append(r)
        return out

    def secret_of(self, fingerprint: str) -> PlannedSecret | None:
        return next((s for s in self.secrets if fingerprint in s.fingerprints), None)

    def to_json(self) -> dict[str, Any]:
        """The reviewable plan file (names and keys, never values); `--plan` reads it back."""
        return {
            "version": PLAN_VERSION,
            "tool": "secretsweep migrate",
            "repo": self.repo,
            "prefix": self.prefix,
            "secrets": [{"name": s.name, "kind": s.kind, "keys": dict(s.keys), "fingerprints": list(s.fingerprints),
                         "rules": list(s.rule_ids), "paths": list(s.paths)} for s in self.secrets],
            "edits": [{"path": r.path, "line": r.line, "column": r.column, "fingerprint": r.fingerprint,
                       "secret_name": r.secret_name, "key": r.key} for r in self.replacements],
            "skipped": dict(self.skipped),
            "warnings": list(self.warnings),
        }


def overrides_from_plan_file(doc: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """(fingerprint -> secret name, fingerprints in the plan) from an edited plan file."""
    names: dict[str, str] = {}
    for s in doc.get("secrets", []):
        for fp in s.get("fingerprints", []):
            names[fp] = str(s["name"])
    return names, set(names)


def _line_of(text: str, start_char: int) -> tuple[str, int]:
    ls = text.rfind("\n", 0, start_char) + 1
    le = text.find("\n", start_char)
    return text[ls: le if le >= 0 else len(text)], start_char - ls


def _uri_span(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """The connection URI around a password at [start, end): `scheme://user:PASSWORD@host...`."""
    if data[end:end + 1] != b"@":
        return None
    lo = max(0, start - 240)
    for m in _URI.finditer(data, lo, start):
        if m.end() == start:
            stop = end
            while stop < len(data) and data[stop:stop + 1] not in b" \t\r\n\"'`<>,;)}]":
                stop += 1
            # a trailing '#' comment in a config line is not part of the URI
            return m.start(), stop
    return None


def build_plan(findings: Sequence[Finding], files: Mapping[str, bytes], *, repo: str, prefix: str | None = None,
               region: str | None = None, kms_key_id: str | None = None,
               names: Mapping[str, str] | None = None, exclude: Iterable[str] = ()) -> MigrationPlan:
    """The plan for `findings` (already filtered to confirmed ones) over `files` (path -> bytes, the current tree).

    `names` (fingerprint -> secret name) come from a reviewed plan file; `exclude` drops fingerprints a
    rewriter could not handle (the caller re-plans without them)."""
    names = dict(names or {})
    excluded = set(exclude)
    prefix = (prefix or slug(repo)).strip("/")
    plan = MigrationPlan(repo=repo, prefix=prefix, region=region, secrets=[], replacements=[], warnings=[],
                         kms_key_id=kms_key_id)
    used: set[str] = set()

    def unique(name: str) -> str:
        base, n = name, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        return name

    # Occurrences in files we can rewrite, per finding; everything else is skipped with a reason.
    usable: list[tuple[Finding, list[tuple[int, int, str, str | None]]]] = []
    for f in findings:
        if f.fingerprint in excluded:
            plan.skipped[f.fingerprint] = "a location cannot be rewritten safely (see warnings)"
            continue
        spots: list[tuple[int, int, str, str | None]] = []  # (start, end, path, assigned name)
        problem = None
        for o in f.occurrences:
            path = o.origin.path
            data = files.get(path)
            if data is None:
                problem = f"{path}: not readable"
                break
            text = data.decode("utf-8", errors="replace")
            kind = file_kind(path, text)
            if kind is None:
                problem = f"{path}:{o.line}: no rewriter for this kind of file; remove the secret by hand"
                break
            if data[o.start:o.end] != f.secret:
                problem = f"{path}:{o.line}: the file changed since the scan"
                break
            line, col = _line_of(data[:o.end].decode("utf-8", errors="replace"), len(data[:o.start].decode(
                "utf-8", errors="replace")))
            spots.append((o.start, o.end, path, assigned_name(line, col)))
        if problem or not spots:
            plan.skipped[f.fingerprint] = problem or "not found in the working tree"
            plan.warnings.append(f"{problem or f.fingerprint + ': not in the working tree'} "
                                 f"({f.rule_id} {f.fingerprint} is not migrated)")
            continue
        usable.append((f, spots))

    taken: set[str] = set()
    # AWS access key ids paired with a secret access key in the same file: one secret, two keys.
    ids = [(f, s) for f, s in usable if f.rule_id == "aws.access-key-id"]
    keys = [(f, s) for f, s in usable if f.rule_id.startswith("aws.secret-access-key")]
    for fid, sid in ids:
        paths = {p for _, _, p, _ in sid}
        mate = next(((fk, sk) for fk, sk in keys if fk.fingerprint not in taken and paths & {p for _, _, p, _ in sk}),
                    None)
        if mate is None:
            continue
        fk, sk = mate
        taken |= {fid.fingerprint, fk.fingerprint}
        name = unique(names.get(fid.fingerprint) or names.get(fk.fingerprint) or f"{prefix}/aws-credentials")
        ps = PlannedSecret(name, {"aws_access_key_id": fid.fingerprint, "aws_secret_access_key": fk.fingerprint},
                           [fid.fingerprint, fk.fingerprint], [fid.rule_id, fk.rule_id],
                           sorted(paths | {p for _, _, p, _ in sk}), "aws-keypair")
        plan.secrets.append(ps)
        for f, spots, key in ((fid, sid, "aws_access_key_id"), (fk, sk, "aws_secret_access_key")):
            _add_replacements(plan, f, spots, files, name, key)

    for f, spots in usable:
        if f.fingerprint in taken:
            continue
        data = files[spots[0][2]]
        uri = _uri_span(data, spots[0][0], spots[0][1])
        label = next((n for *_, n in spots if n), None) or f.rule_id.split(".")[-1]
        name = unique(names.get(f.fingerprint) or f"{prefix}/{slug(label)}")
        if uri is not None:
            fields = connection_fields(data[uri[0]:uri[1]])
            ps = PlannedSecret(name, dict.fromkeys(sorted(fields), f.fingerprint),
                               [f.fingerprint], [f.rule_id], sorted({p for *_, p, _ in spots}), "connection-uri")
            plan.secrets.append(ps)
            _add_replacements(plan, f, spots, files, name, "url", uri=True)
        else:
            plan.secrets.append(PlannedSecret(name, {}, [f.fingerprint], [f.rule_id],
                                              sorted({p for *_, p, _ in spots})))
            _add_replacements(plan, f, spots, files, name, None)
    plan.replacements.sort(key=lambda r: (r.path, r.start))
    return plan


def _add_replacements(plan: MigrationPlan, f: Finding, spots: list[tuple[int, int, str, str | None]],
                      files: Mapping[str, bytes], name: str, key: str | None, uri: bool = False) -> None:
    seen: set[tuple[str, int]] = set()
    for (start, end, path, _), o in zip(spots, f.occurrences, strict=True):
        if (path, start) in seen:
            continue
        seen.add((path, start))
        s, e, whole = start, end, "secret"
        if uri:
            span = _uri_span(files[path], start, end)
            if span is not None:
                s, e, whole = span[0], span[1], "url"
        plan.replacements.append(Replacement(path, s, e, o.line, o.column, f.fingerprint, name, key, whole))


def connection_fields(uri: bytes) -> dict[str, str]:
    """The JSON fields of a connection-URI secret (RDS rotation's layout plus the whole url)."""
    from urllib.parse import unquote, urlsplit

    text = uri.decode("utf-8", errors="replace")
    parts = urlsplit(text)
    out = {"url": text, "username": unquote(parts.username or ""), "password": unquote(parts.password or ""),
           "engine": parts.scheme, "host": parts.hostname or ""}
    try:
        if parts.port:
            out["port"] = str(parts.port)
    except ValueError:
        pass
    if parts.path.strip("/"):
        out["dbname"] = parts.path.strip("/")
    return out


# -- references written into files -----------------------------------------------------------------

def config_reference(name: str, key: str | None) -> str:
    return f"aws-secretsmanager://{name}" + (f"#{key}" if key else "")


def cfn_reference(name: str, key: str | None) -> str:
    return "{{resolve:secretsmanager:" + name + (f":SecretString:{key}" if key else "") + "}}"


def python_call(name: str, key: str | None) -> str:
    return f'{HELPER_FUNCTION}("{name}"' + (f', "{key}"' if key else "") + ")"


# -- IAM policy ------------------------------------------------------------------------------------

def arn_pattern(name: str, region: str | None, account: str | None = None) -> str:
    """The ARN of a secret not created yet: Secrets Manager appends '-' and six random characters."""
    return f"arn:aws:secretsmanager:{region or '*'}:{account or '*'}:secret:{name}-??????"


def iam_policy(arns: Sequence[str], kms_key_arn: str | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [{
        "Sid": "ReadMigratedSecrets",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": sorted(arns),
    }]
    if kms_key_arn:
        statements.append({
            "Sid": "DecryptMigratedSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [kms_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


# -- remediation -----------------------------------------------------------------------------------

ROTATION_PAGES = {
    "stripe.": "https://docs.stripe.com/keys#rolling-keys (Dashboard > Developers > API keys > Roll key)",
    "slack.webhook": "https://api.slack.com/messaging/webhooks (remove the webhook from the app, add a new one)",
    "slack.": "https://api.slack.com/authentication/rotation (regenerate the token in the app's settings)",
    "github.": "https://github.com/settings/tokens (regenerate or delete the token)",
    "google.": "https://console.cloud.google.com/apis/credentials (regenerate the key; restrict it)",
    "gcp.": "https://cloud.google.com/iam/docs/keys-create-delete (create a new key, delete the old one)",
    "openai.": "https://platform.openai.com/api-keys (create a new key, revoke the old one)",
    "anthropic.": "https://console.anthropic.com/settings/keys (create a new key, disable the old one)",
    "twilio.": "https://www.twilio.com/docs/iam/api-keys (create a new key, delete the old one)",
    "sendgrid.": "https://app.sendgrid.com/settings/api_keys (create a new key, delete the old one)",
    "db.": "change the password on the database server (ALTER USER ... PASSWORD), or enable Secrets Manager "
           "rotation with the RDS rotation function (the secret holds username, password, host, port, dbname)",
}

AWS_ROTATION = [
    "create a second access key for the IAM user: `aws iam create-access-key --user-name USER`",
    "store it: `aws secretsmanager put-secret-value --secret-id NAME --secret-string file://new.json` "
    "(keys aws_access_key_id / aws_secret_access_key)",
    "deploy and check the application uses the new key (IAM console: 'last used')",
    "deactivate the old key: `aws iam update-access-key --user-name USER --access-key-id OLD --status Inactive`",
    "after a quiet period, delete it: `aws iam delete-access-key --user-name USER --access-key-id OLD`",
]


def rotation_steps(rule_ids: Sequence[str]) -> list[str]:
    if any(r.startswith("aws.") for r in rule_ids):
        return list(AWS_ROTATION)
    for rid in rule_ids:
        for pre, page in ROTATION_PAGES.items():
            if rid.startswith(pre):
                return [f"revoke and re-issue it: {page}",
                        "put the new value in Secrets Manager: `aws secretsmanager put-secret-value --secret-id NAME "
                        "--secret-string ...`", "deploy, then check the old value no longer works"]
    return ["issue a new value at the service it belongs to and revoke the old one",
            "put the new value in Secrets Manager: `aws secretsmanager put-secret-value --secret-id NAME "
            "--secret-string ...`", "deploy, then check the old value no longer works"]


def remediation(plan: MigrationPlan, arns: Mapping[str, str], purge_file: str | None = None) -> list[dict[str, Any]]:
    """One checklist entry per secret: rotate, purge from history, verify."""
    out = []
    for s in plan.secrets:
        expressions = purge_file or "expressions.txt"
        out.append({
            "secret": s.name,
            "arn": arns.get(s.name, arn_pattern(s.name, plan.region)),
            "rules": list(s.rule_ids),
            "fingerprints": list(s.fingerprints),
            "paths": list(s.paths),
            "rotate": [step.replace("NAME", s.name) for step in rotation_steps(s.rule_ids)],
            "purge": [
                f"the value stays in git history until purged: `git filter-repo --replace-text {expressions}` "
                + ("(the file was written with --purge-expressions)" if purge_file else
                   "(`secretsweep migrate --purge-expressions FILE` writes it; it holds the plaintext: delete it "
                   "afterwards)"),
                "force-push every branch and tag, and ask everyone with a clone to re-clone",
                "purging does not make the old value safe: rotate it first",
            ],
            "verify": [
                "`secretsweep scan .` no longer reports it in the working tree (HEAD after you commit)",
                "`secretsweep scan --history .` lists the commits where it remains until history is purged",
            ],
        })
    return out


def remediation_markdown(items: Sequence[Mapping[str, Any]], loader_notes: Sequence[str] = ()) -> str:
    lines = ["# Remediation plan", ""]
    if loader_notes:
        lines += ["## Loader changes", ""] + [f"- {n}" for n in loader_notes] + [""]
    for it in items:
        lines += [f"## {it['secret']}", "", f"- ARN: `{it['arn']}`", f"- rules: {', '.join(it['rules'])}",
                  f"- found in: {', '.join(it['paths'])}", "", "Rotate:", ""]
        lines += [f"{i}. {step}" for i, step in enumerate(it["rotate"], 1)]
        lines += ["", "Purge from history:", ""] + [f"- [ ] {p}" for p in it["purge"]]
        lines += ["", "Check:", ""] + [f"- [ ] {v}" for v in it["verify"]] + [""]
    return "\n".join(lines)
