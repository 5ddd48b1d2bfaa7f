"""Shared measuring for the benchmarks: run a command, time it, and read its peak memory from wait4."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    name: str
    wall: float          # median seconds over the runs
    walls: list[float]
    peak_rss_mb: float   # largest resident set of the process tree's main process, MB
    findings: int | None
    code: int


def run_once(argv: Sequence[str], stdout_path: Path | None = None,
             env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one run; stdout goes to a file or /dev/null."""
    out = open(stdout_path or os.devnull, "wb")  # noqa: SIM115 - closed below, after the child ends
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


@dataclass
class Tool:
    name: str
    argv: Sequence[str] | Callable[[], Sequence[str]]  # or a function giving each run its own (a fresh store)
    count: Callable[[Path], int | None]  # findings in the tool's report
    env: dict[str, str] | None = None


def measure_rounds(tools: Sequence[Tool], runs: int, warmup: bool = True) -> list[Measured]:
    """Each tool's median wall time over `runs` rounds, every round running each tool once in turn, so a
    machine that drifts slower or faster during the benchmark moves them all alike (after one untimed
    warm-up round that fills caches, unless told not to)."""
    commands = [t.argv if callable(t.argv) else (lambda argv=t.argv: argv) for t in tools]
    reports = [Path(f"/tmp/secretsweep-bench-{t.name}.out") for t in tools]
    if warmup:
        for t, command, report in zip(tools, commands, reports, strict=True):
            run_once(command(), report, t.env)
    timed: list[list[tuple[float, float, int]]] = [[] for _ in tools]  # (wall, peak, code) per run
    for _ in range(runs):
        for t, command, report, done in zip(tools, commands, reports, timed, strict=True):
            done.append(run_once(command(), report, t.env))
    return [Measured(t.name, statistics.median(w for w, _, _ in done), [w for w, _, _ in done],
                     max(p for _, p, _ in done), _count(t.count, report), done[-1][2])
            for t, report, done in zip(tools, reports, timed, strict=True)]


def measure(name: str, argv: Sequence[str] | Callable[[], Sequence[str]], runs: int,
            count: Callable[[Path], int | None], env: dict[str, str] | None = None, warmup: bool = True) -> Measured:
    """One tool's median wall time over `runs` (see `measure_rounds`)."""
    return measure_rounds([Tool(name, argv, count, env)], runs, warmup)[0]


def _count(count: Callable[[Path], int | None], report: Path) -> int | None:
    try:
        return count(report)
    except Exception:
        return None


def require(m: Measured) -> Measured:
    """Our own run's figures, or exit: a run that failed (exit 2 or worse, no report) times nothing."""
    if m.findings is None or m.code >= 2:
        sys.exit(f"{m.name} failed (exit {m.code}, findings {m.findings}): is it installed for {sys.executable}?")
    return m


def count_json_findings(path: Path) -> int:
    return len(json.loads(path.read_text())["findings"])


def count_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def count_betterleaks(path: Path) -> int:
    """Betterleaks writes a JSON list, or (2.x) an object with a findings list."""
    text = path.read_text().strip()
    if not text:
        return 0
    doc = json.loads(text)
    return len(doc["findings"] if isinstance(doc, dict) else doc)


def find_tool(name: str, peers_bin: Path | None) -> str | None:
    if peers_bin is not None and (peers_bin / name).exists():
        return str(peers_bin / name)
    return shutil.which(name)


def print_table(rows: list[Measured], size_mb: float, reference: str = "secretsweep") -> None:
    ref = next((r for r in rows if r.name == reference), None)
    print(f"{'tool':14} {'wall s':>8} {'MB/s':>8} {'peak MB':>9} {'findings':>9} {'vs ours':>8}  runs")
    for r in rows:
        ratio = f"{r.wall / ref.wall:.2f}x" if ref and r is not ref else ""
        rate = size_mb / r.wall if r.wall else 0.0
        runs = " ".join(f"{w:.2f}" for w in r.walls)
        print(f"{r.name:14} {r.wall:8.3f} {rate:8.1f} {r.peak_rss_mb:9.1f} {str(r.findings):>9} {ratio:>8}  {runs}")
    sys.stdout.flush()
