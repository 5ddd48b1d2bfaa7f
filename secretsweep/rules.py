"""Rules as data: parse `patterns/*.toml`, load rule sets, and check every rule against its examples."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from secretsweep.core.matcher import MAX_WINDOW, REGEX_TIMEOUT_S, compile_pattern, max_width
from secretsweep.core.validators import VALIDATORS
from secretsweep.errors import RuleError
from secretsweep.model import Confidence, Rule, Severity

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_LIST_FIELDS = ("keywords", "examples", "negative_examples", "references")
_KNOWN = {"id", "name", "description", "pattern", "min_entropy", "severity", "confidence", "path",
          "validator", "hyperscan", "generic", *_LIST_FIELDS}


def builtin_rules_dir() -> Path:
    """The shipped `patterns/` folder: beside the package in a checkout, under share/ once installed."""
    here = Path(__file__).resolve().parent.parent / "patterns"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "secretsweep" / "patterns"


def parse_rules(text: str, source: str = "<string>") -> list[Rule]:
    """Rules from the text of one TOML rule file. Pure; raises RuleError naming the file and rule."""
    import tomllib  # only when rule files are parsed, not when they come from the cache

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from None
    tables = doc.get("rule", [])
    if not isinstance(tables, list):
        raise RuleError(f"{source}: 'rule' must be an array of tables ([[rule]])")
    return [_rule_from_table(t, source, n) for n, t in enumerate(tables, 1)]


def _rule_from_table(table: dict[str, object], source: str, n: int) -> Rule:
    rid = table.get("id")
    where = f"{source}: rule {rid!r}" if isinstance(rid, str) else f"{source}: rule #{n}"
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RuleError(f"{where}: 'id' must be lower-case letters, digits, '.', '-' or '_'")
    unknown = set(table) - _KNOWN
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("name", "pattern"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise RuleError(f"{where}: '{key}' is required and must be a string")
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_FIELDS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{where}: '{key}' must be a list of strings")
        lists[key] = tuple(value)
    try:
        severity = Severity(table.get("severity", "high"))
        confidence = Confidence(table.get("confidence", "high"))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    min_entropy = table.get("min_entropy")
    if min_entropy is not None and not isinstance(min_entropy, int | float):
        raise RuleError(f"{where}: 'min_entropy' must be a number")
    validator = table.get("validator")
    if validator is not None and validator not in VALIDATORS:
        raise RuleError(f"{where}: unknown validator {validator!r} (known: {', '.join(sorted(VALIDATORS))})")
    hyperscan = table.get("hyperscan", True)
    if not isinstance(hyperscan, bool):
        raise RuleError(f"{where}: 'hyperscan' must be true or false")
    generic = table.get("generic", False)
    if not isinstance(generic, bool):
        raise RuleError(f"{where}: 'generic' must be true or false")
    if not hyperscan and not lists["keywords"]:
        raise RuleError(f"{where}: a rule with hyperscan = false needs keywords to be found by")
    path = table.get("path")
    import regex

    try:
        compile_pattern(str(table["pattern"]))
        if path is not None:
            regex.compile(str(path))
    except regex.error as exc:
        raise RuleError(f"{where}: pattern does not compile: {exc}") from None
    return Rule(
        id=rid,
        name=str(table["name"]),
        pattern=str(table["pattern"]),
        description=str(table.get("description", "")),
        min_entropy=float(min_entropy) if min_entropy is not None else None,
        severity=severity,
        confidence=confidence,
        path=str(path) if path is not None else None,
        validator=str(validator) if validator is not None else None,
        hyperscan=hyperscan,
        generic=generic,
        source=source,
        **lists,
    )


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        if d.is_file():
            files.append(d)
        elif d.is_dir():
            files.extend(sorted(d.glob("*.toml")))
        else:
            raise RuleError(f"{d}: no such rules folder or file")
    return files


def load_rules(extra_dirs: Sequence[Path] = (), *, builtins: bool = True,
               only: Sequence[str] = (), disable: Sequence[str] = (), cache: Path | None = None) -> list[Rule]:
    """The built-in rules (unless turned off) and every `*.toml` under the given folders.

    `only` keeps rules whose id starts with one of the prefixes; `disable` drops them. With a `cache`
    folder, parsed and validated rules are kept there, keyed by the files' paths, sizes and times,
    so an unchanged rule set costs no parsing or regex compiling at start-up.
    """
    dirs = ([builtin_rules_dir()] if builtins else []) + list(extra_dirs)
    files = rule_files(dirs)
    rules = _cached_parse(files, cache) if cache is not None else _parse_files(files)
    if only:
        rules = [r for r in rules if r.id.startswith(tuple(only))]
    if disable:
        rules = [r for r in rules if not r.id.startswith(tuple(disable))]
    if not rules:
        raise RuleError("no rules are left to scan with (check --rules, --no-builtin-rules and --disable-rule)")
    return rules


def _cached_parse(files: list[Path], cache: Path) -> list[Rule]:
    import hashlib
    import pickle

    h = hashlib.sha256(b"rules-v1")
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return _parse_files(files)  # let the parse report it
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    entry = cache / f"rules-{h.hexdigest()[:32]}.pickle"
    try:
        with open(entry, "rb") as fh:
            cached = pickle.load(fh)
        if isinstance(cached, list) and all(isinstance(r, Rule) for r in cached):
            return cached
    except Exception:  # missing, stale or unreadable: parse again
        pass
    rules = _parse_files(files)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, entry)
    except OSError:
        pass
    return rules


def _parse_files(files: list[Path]) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{f}: cannot read rule file: {exc}") from None
        for rule in parse_rules(text, str(f)):
            if rule.id in seen:
                raise RuleError(f"{f}: rule {rule.id!r}: id already defined in {seen[rule.id]}")
            seen[rule.id] = str(f)
            rules.append(rule)
    return rules


# Inputs that make a badly written pattern backtrack: long runs of one class, and near-misses.
_ADVERSARIAL = (
    b"a" * 20000, b"A1" * 10000, b"=" * 20000, b" " * 20000, b"\t" * 20000, b"/" * 20000, b"-" * 20000,
    b"0" * 20000, b"aA0+/" * 4000, b"'" * 20000, b'"' * 20000, b"\\" * 20000,
    b"password=" + b"a" * 20000, b"key: " + b" " * 20000 + b"x", b"://" + b"a:" * 10000 + b"@",
)
BACKTRACK_BUDGET_S = 0.5


def check_rule(rule: Rule) -> list[str]:
    """Problems with one rule: examples that miss, negative examples that hit, patterns that backtrack."""
    from secretsweep.core.detect import Detector  # the detector is only needed when checking

    problems: list[str] = []
    detector = Detector([rule], use_hyperscan=False)
    if not rule.examples:
        problems.append("has no examples")
    path = _example_path(rule)
    problems += [f"example does not match: {ex[:60]!r}" for ex in rule.examples
                 if not detector.detect(ex.encode(), path=path).matches]
    problems += [f"negative example matches: {ex[:60]!r}" for ex in rule.negative_examples
                 if detector.detect(ex.encode(), path=path).matches]
    if max_width(rule.pattern) is None:
        problems.append(f"pattern has no bounded length under {MAX_WINDOW} bytes: bound every repeat "
                        "(write {0,40}, not * or +) so matches can be confirmed in windows")
    problems += _hyperscan_problems(rule)
    compiled = compile_pattern(rule.pattern)
    for sample in _ADVERSARIAL:
        started = time.perf_counter()
        try:
            for _ in compiled.finditer(sample, timeout=REGEX_TIMEOUT_S):
                pass
        except TimeoutError:
            problems.append(f"pattern backtracks: no answer within {REGEX_TIMEOUT_S}s on {sample[:12]!r}...")
            break
        if time.perf_counter() - started > BACKTRACK_BUDGET_S:
            problems.append(f"pattern is slow: over {BACKTRACK_BUDGET_S}s on {sample[:12]!r}...")
            break
    return problems


# Wall time, so it needs room for slower machines: the slowest built-in pattern (key.private-key, a
# 16 kB block of any bytes) took 0.9-1.05 s to compile on one of this project's machines under load.
HYPERSCAN_BUDGET_S = 2.0


def _hyperscan_problems(rule: Rule) -> list[str]:
    """A pattern that hyperscan refuses or takes long to compile slows every first run."""
    if not rule.hyperscan:
        return []
    try:
        import hyperscan
    except ImportError:
        return []
    started = time.perf_counter()
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
            expressions=[rule.pattern.encode()], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_PREFILTER])
    except Exception as exc:
        return [f"hyperscan cannot compile the pattern ({exc}); set hyperscan = false to prefilter by keywords"]
    took = time.perf_counter() - started
    if took > HYPERSCAN_BUDGET_S:
        return [f"hyperscan needs {took:.1f}s to compile the pattern: bound its repeats more tightly, "
                "or set hyperscan = false to prefilter it by its keywords"]
    return []


def _example_path(rule: Rule) -> str | None:
    """Rules limited to some paths are checked as if their examples sat in such a file."""
    return None if rule.path is None else _path_for(rule.path)


def _path_for(path_pattern: str) -> str:
    import regex

    # The simplest file name a path pattern accepts: try a few common shapes.
    for candidate in ("Dockerfile", "docker-compose.yml", "values.yaml", "main.tf", "config.json",
                      "notebook.ipynb", ".env", "settings.py", "app.properties", "request.http", "id_rsa",
                      "secret.yaml", "keystore.jks", ".npmrc", ".pypirc", ".netrc", ".git-credentials",
                      "config.xml", "web.config", "template.yaml", "build.gradle", "pom.xml", "settings.xml"):
        if regex.search(path_pattern, candidate):
            return candidate
    return "file"
