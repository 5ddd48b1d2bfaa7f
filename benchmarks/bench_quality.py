"""Detection-quality benchmark: precision, recall and F1 per secret family, secretsweep beside its peers.

    python benchmarks/quality_corpus.py /tmp/qcorpus
    python benchmarks/bench_quality.py /tmp/qcorpus [--peers-bin /opt/peers/bin] [--min-confidence medium]

The corpus (benchmarks/quality_corpus.py) holds one sample per file and a labels.json. A file counts as
flagged by a tool when the tool reports anything in it. Per family: precision = TP / (TP + FP), recall =
TP / positives, F1, and the false-positive rate on that family's hard negatives (FP / negatives). Macro F1
is the mean F1 over the families that have positives. Peers (Betterleaks, Kingfisher, detect-secrets,
CredSweeper) run when found in --peers-bin or on PATH; a peer that fails is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import find_tool  # noqa: E402

TIMEOUT = 1800


@dataclass
class ToolResult:
    name: str
    flagged: dict[str, set[str]] = field(default_factory=dict)  # file -> rule ids reported in it
    error: str | None = None
    seconds: float = 0.0


def _rel(path: str, root: Path) -> str:
    p = path.replace("\\", "/")
    for base in (str(root), str(root.resolve())):
        if p.startswith(base + "/"):
            p = p[len(base) + 1:]
    while p.startswith("./"):
        p = p[2:]
    return p


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def _why(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()
    return f"exit {proc.returncode}: {tail[-1][:200] if tail else 'no output'}"


# --- one runner per tool: each returns {file: {rule ids}} or raises RuntimeError with the reason ------

def run_secretsweep(root: Path, min_conf: str, _bin: Path | None) -> dict[str, set[str]]:
    proc = _run([sys.executable, "-m", "secretsweep", "scan", str(root), "-f", "json", "-q", "--no-baseline",
                 "--min-confidence", min_conf, "--max-file-size", "10MB"])
    if proc.returncode not in (0, 1):
        raise RuntimeError(_why(proc))
    out: dict[str, set[str]] = defaultdict(set)
    for f in json.loads(proc.stdout)["findings"]:
        for loc in f.get("locations") or [{"path": f["path"]}]:
            out[_rel(loc["path"], root)].add(f["rule"])
    return out


def run_betterleaks(root: Path, _conf: str, peers_bin: Path | None) -> dict[str, set[str]]:
    exe = find_tool("betterleaks", peers_bin)
    if exe is None:
        raise FileNotFoundError
    proc = _run([exe, "fs", str(root), "--no-banner", "--exit-code", "0", "-o", "-", "-l", "error"])
    if proc.returncode != 0:
        raise RuntimeError(_why(proc))
    text = proc.stdout.strip()
    doc = json.loads(text) if text else []
    items = doc if isinstance(doc, list) else doc.get("findings") or []
    out: dict[str, set[str]] = defaultdict(set)
    for it in items:
        path = it.get("File") or (it.get("location") or {}).get("path")
        rule = it.get("RuleID") or it.get("rule_id") or "?"
        if path:
            out[_rel(path, root)].add(rule)
    return out


def run_kingfisher(root: Path, _conf: str, peers_bin: Path | None) -> dict[str, set[str]]:
    exe = find_tool("kingfisher", peers_bin)
    if exe is None:
        raise FileNotFoundError
    proc = _run([exe, "scan", str(root), "--git-history", "none", "--no-validate", "-f", "jsonl", "-q"])
    if proc.returncode not in (0, 200, 205) and not proc.stdout.strip():
        raise RuntimeError(_why(proc))
    out: dict[str, set[str]] = defaultdict(set)
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        finding = rec.get("finding")
        if isinstance(finding, dict) and finding.get("path"):
            out[_rel(finding["path"], root)].add((rec.get("rule") or {}).get("id", "?"))
    return out


def run_detect_secrets(root: Path, _conf: str, peers_bin: Path | None) -> dict[str, set[str]]:
    exe = find_tool("detect-secrets", peers_bin)
    if exe is None:
        raise FileNotFoundError
    proc = _run([exe, "scan", "--all-files", str(root)], cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(_why(proc))
    out: dict[str, set[str]] = defaultdict(set)
    for path, hits in json.loads(proc.stdout).get("results", {}).items():
        out[_rel(path, root)].update(h.get("type", "?") for h in hits)
    return out


def run_credsweeper(root: Path, _conf: str, peers_bin: Path | None) -> dict[str, set[str]]:
    exe = find_tool("credsweeper", peers_bin)
    if exe is None:
        raise FileNotFoundError
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "credsweeper.json"
        proc = _run([exe, "--path", str(root), "--save-json", str(report)])
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(_why(proc))
        items = json.loads(report.read_text() or "[]")
    out: dict[str, set[str]] = defaultdict(set)
    for it in items:
        for ld in it.get("line_data_list") or []:
            if ld.get("path"):
                out[_rel(ld["path"], root)].add(it.get("rule", "?"))
    return out


RUNNERS: list[tuple[str, Callable[[Path, str, Path | None], dict[str, set[str]]]]] = [
    ("secretsweep", run_secretsweep), ("betterleaks", run_betterleaks), ("kingfisher", run_kingfisher),
    ("detect-secrets", run_detect_secrets), ("credsweeper", run_credsweeper),
]


# --- scoring ---------------------------------------------------------------------------------------

@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, positive: bool, flagged: bool) -> None:
        if positive:
            self.tp += flagged
            self.fn += not flagged
        else:
            self.fp += flagged
            self.tn += not flagged

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None if self.tp + self.fn == 0 else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fpr(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def score(labels: dict[str, dict], flagged: dict[str, set[str]]) -> dict[str, Score]:
    by_family: dict[str, Score] = defaultdict(Score)
    for path, lab in labels.items():
        hit = path in flagged
        by_family[lab["family"]].add(lab["positive"], hit)
        by_family["ALL"].add(lab["positive"], hit)
    return by_family


def print_tables(labels: dict[str, dict], results: list[ToolResult]) -> None:
    ok = [t for t in results if t.error is None]
    pos = Counter(v["family"] for v in labels.values() if v["positive"])
    neg = Counter(v["family"] for v in labels.values() if not v["positive"])
    families = sorted(set(pos) | set(neg), key=lambda f: (pos[f] == 0, f))
    scores = {t.name: score(labels, t.flagged) for t in ok}

    width = 23
    print(f"\n{'':14} {'':9}" + "".join(f" | {t.name:^{width}}" for t in ok))
    print(f"{'family':14} {'pos/neg':>9}" + " | P     R     F1    FPR  " * len(ok))
    print("-" * (24 + (width + 3) * len(ok)))
    for fam in [*families, "ALL"]:
        if fam == "ALL":
            print("-" * (24 + (width + 3) * len(ok)))
            np_, nn = sum(pos.values()), sum(neg.values())
        else:
            np_, nn = pos[fam], neg[fam]
        row = f"{fam:14} {f'{np_}/{nn}':>9}"
        for t in ok:
            s = scores[t.name][fam]
            row += f" | {_f(s.precision)} {_f(s.recall)} {_f(s.f1)} {_f(s.fpr)}"
        print(row)
    macro = []
    for t in ok:
        f1s = [scores[t.name][f].f1 or 0.0 for f in families if pos[f]]
        macro.append(sum(f1s) / len(f1s) if f1s else 0.0)
    print(f"{'macro F1':24}" + "".join(f" | {m:^{width}.3f}" for m in macro))
    print(f"{'seconds':24}" + "".join(f" | {t.seconds:^{width}.1f}" for t in ok))
    for t in results:
        if t.error is not None:
            print(f"{t.name}: {t.error}")

    # Where the errors are: misses per positive kind, false positives per negative kind.
    for positive, title in ((True, "missed positives by kind (of n)"), (False, "flagged negatives by kind (of n)")):
        kinds = Counter(v["kind"] for v in labels.values() if v["positive"] is positive)
        counts = {t.name: Counter(v["kind"] for p, v in labels.items()
                                  if v["positive"] is positive and (p in t.flagged) is not positive) for t in ok}
        print(f"\n{title}")
        print(f"{'kind':48} {'n':>3}" + "".join(f" {t.name[:12]:>12}" for t in ok))
        for kind in sorted(kinds, key=lambda k: -max(c[k] for c in counts.values()) if counts else 0):
            if not any(c[kind] for c in counts.values()):
                continue
            print(f"{kind[:48]:48} {kinds[kind]:>3}" + "".join(f" {counts[t.name][kind]:>12}" for t in ok))
    sys.stdout.flush()


def print_errors(labels: dict[str, dict], tool: ToolResult) -> None:
    print(f"\n{tool.name} false positives (file: rules):")
    for p, v in sorted(labels.items()):
        if not v["positive"] and p in tool.flagged:
            print(f"  {p} [{v['kind']}]: {', '.join(sorted(tool.flagged[p]))}")
    print(f"\n{tool.name} false negatives (file: note):")
    for p, v in sorted(labels.items()):
        if v["positive"] and p not in tool.flagged:
            print(f"  {p}: {v['note']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--peers-bin", type=Path, default=None, help="folder holding the peers' executables")
    ap.add_argument("--min-confidence", default="medium", choices=["low", "medium", "high"])
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--list-errors", action="store_true", help="list secretsweep's false positives and negatives")
    ap.add_argument("--details", type=Path, default=None, help="write every tool's flagged files as JSON here")
    args = ap.parse_args()
    root = args.corpus.resolve()
    labels_path = root / "labels.json"
    if not labels_path.is_file():
        sys.exit(f"{labels_path} not found: generate the corpus with benchmarks/quality_corpus.py")
    labels: dict[str, dict] = json.loads(labels_path.read_text())
    pos = sum(v["positive"] for v in labels.values())
    print(f"corpus: {root} ({len(labels)} files: {pos} positive, {len(labels) - pos} hard negative); "
          f"secretsweep --min-confidence {args.min_confidence}")

    results: list[ToolResult] = []
    for name, runner in RUNNERS:
        if args.no_peers and name != "secretsweep":
            continue
        res = ToolResult(name)
        started = time.perf_counter()
        try:
            flagged = runner(root, args.min_confidence, args.peers_bin)
            res.flagged = {p: rules for p, rules in flagged.items() if p in labels}
        except FileNotFoundError:
            res.error = "not installed (looked in --peers-bin and PATH)"
        except subprocess.TimeoutExpired:
            res.error = f"failed: timed out after {TIMEOUT}s"
        except (RuntimeError, ValueError, KeyError, OSError) as e:
            res.error = f"failed: {e}"
        res.seconds = time.perf_counter() - started
        if res.error and res.error.startswith("not installed"):
            print(f"{name}: {res.error}")
            continue
        results.append(res)
    if results and results[0].error is not None and results[0].name == "secretsweep":
        print(f"secretsweep {results[0].error}")
    print_tables(labels, results)
    if args.list_errors:
        ours = next((t for t in results if t.name == "secretsweep" and t.error is None), None)
        if ours is not None:
            print_errors(labels, ours)
    if args.details:
        args.details.write_text(json.dumps({t.name: {p: sorted(r) for p, r in sorted(t.flagged.items())}
                                            for t in results if t.error is None}, indent=1))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
