"""Rewrites secrets in config files by editing the exact value span, then checks the file still parses
with its own parser (.env line syntax, yaml.safe_load, json, tomllib, configparser).

References: `aws-secretsmanager://<name>#<key>` in .env/YAML/JSON/TOML/INI (the application's loader
resolves them: the plan names the change), `{{resolve:secretsmanager:<name>:SecretString:<key>}}` in
CloudFormation templates, which CloudFormation resolves itself.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass

from secretsweep.migrate.plan import ENV, INI, JSON, TOML, YAML, Replacement, cfn_reference, config_reference


class RewriteError(Exception):
    """A rewritten config file no longer parses, or a value cannot be replaced safely."""


@dataclass
class ConfigRewrite:
    data: bytes
    warnings: list[str]
    refused: set[str]
    loader_note: str | None


LOADER_NOTES = {
    ENV: "{path}: values are now `aws-secretsmanager://NAME#KEY` references; load the file through a resolver "
         "(e.g. `secretsweep_secrets.resolve_env()` after python-dotenv, or the ECS/Lambda secrets integration)",
    YAML: "{path}: values are now `aws-secretsmanager://NAME#KEY` references; resolve them when the config is "
          "loaded (`secretsweep_secrets.resolve(value)`)",
    JSON: "{path}: values are now `aws-secretsmanager://NAME#KEY` references; resolve them when the config is "
          "loaded (`secretsweep_secrets.resolve(value)`)",
    TOML: "{path}: values are now `aws-secretsmanager://NAME#KEY` references; resolve them when the config is "
          "loaded (`secretsweep_secrets.resolve(value)`)",
    INI: "{path}: values are now `aws-secretsmanager://NAME#KEY` references; resolve them when the config is "
         "loaded (`secretsweep_secrets.resolve(value)`)",
}


def check_parses(kind: str, data: bytes, path: str) -> None:
    """Raise RewriteError when `data` is not a valid file of its kind."""
    try:
        text = data.decode("utf-8")
        if kind == YAML:
            import yaml

            list(yaml.safe_load_all(text))
        elif kind == JSON:
            json.loads(text)
        elif kind == TOML:
            tomllib.loads(text)
        elif kind == INI:
            cp = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                cp.read_string(text)
            except configparser.MissingSectionHeaderError:
                cp.read_string("[__top__]\n" + text)
        elif kind == ENV:
            for n, line in enumerate(text.splitlines(), 1):
                s = line.strip()
                if s and not s.startswith("#") and not re.match(r"(export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*=", s):
                    raise RewriteError(f"{path}:{n}: not a KEY=VALUE line after the rewrite")
    except RewriteError:
        raise
    except Exception as exc:  # each parser has its own error type; the message names no value
        raise RewriteError(f"{path}: the rewritten file does not parse as {kind}: {type(exc).__name__}") from None


def _line_col(data: bytes, offset: int) -> tuple[bytes, int]:
    ls = data.rfind(b"\n", 0, offset) + 1
    le = data.find(b"\n", offset)
    return data[ls: le if le >= 0 else len(data)], offset - ls


def rewrite_config(kind: str, data: bytes, replacements: Sequence[Replacement], path: str,
                   cloudformation: bool = False) -> ConfigRewrite:
    """Replace each span by its reference (quoted where the format needs it) and check the result parses."""
    out = bytearray(data)
    warnings: list[str] = []
    refused: set[str] = set()
    for r in sorted(replacements, key=lambda r: r.start, reverse=True):
        ref = (cfn_reference if cloudformation else config_reference)(r.secret_name, r.key)
        line, col = _line_col(data, r.start)
        before = line[:col]
        after = line[col + (r.end - r.start):]
        quoted = before[-1:] in (b'"', b"'") and after[:1] == before[-1:]
        if not quoted and not (re.search(rb"(=|:|=>)\s*$", before)
                               and re.match(rb"\s*($|#|;|,\s*$)", after)):
            warnings.append(f"{path}:{r.line}: the secret is only part of a value; left unchanged")
            refused.add(r.fingerprint)
            continue
        text = ref
        if kind == YAML and not quoted and (cloudformation or ": " in ref or " #" in ref or ref.startswith("{")):
            text = json.dumps(ref)
        if kind == TOML and not quoted:
            warnings.append(f"{path}:{r.line}: the secret is not a whole TOML string; left unchanged")
            refused.add(r.fingerprint)
            continue
        if kind == JSON and not quoted:
            warnings.append(f"{path}:{r.line}: the secret is not a whole JSON string; left unchanged")
            refused.add(r.fingerprint)
            continue
        if quoted and kind in (JSON, TOML, YAML) and before[-1:] == b'"':
            text = json.dumps(text)[1:-1] if not text.startswith('"') else text[1:-1]
        out[r.start:r.end] = text.encode("utf-8")
    new = bytes(out)
    if new != data:
        check_parses(kind, new, path)
    note = None
    if not cloudformation and new != data and kind in LOADER_NOTES:
        note = LOADER_NOTES[kind].format(path=path)
    return ConfigRewrite(new, warnings, refused, note)
