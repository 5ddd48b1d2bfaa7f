"""History benchmark: secretsweep's full-history audit of any repository, with Kingfisher and
Betterleaks on the same repository in the same run when they are installed.

    python benchmarks/bench_history.py REPO [--runs 1] [--peers-bin /opt/peers/bin]

Prints commits, unique blobs, unique blob bytes, wall time, MB/s, peak RSS and findings, and the
ratios against the peers. The tools take turns, one run each per round, so the machine's drift over
the benchmark moves them alike. Each secretsweep run uses a fresh findings store (a cold audit); the
compiled rule cache is warmed first so it measures scanning, not the one-time compile.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import (  # noqa: E402
    Tool,
    count_betterleaks,
    count_json_findings,
    count_lines,
    find_tool,
    measure_rounds,
    print_table,
    require,
)


def repo_stats(repo: Path) -> tuple[int, int, int]:
    """(commits, unique blobs, unique blob bytes) reachable from every ref."""
    git = ["git", "-C", str(repo)]
    commits = int(subprocess.run([*git, "rev-list", "--all", "--count"], capture_output=True, text=True).stdout)
    listing = subprocess.run([*git, "rev-list", "--objects", "--all", "--filter=object:type=blob",
                              "--filter-provided-objects"], capture_output=True).stdout
    ids = b"".join(line.split(b" ", 1)[0] + b"\n" for line in listing.splitlines())
    sizes = subprocess.run([*git, "cat-file", "--batch-check=%(objectsize)"], input=ids,
                           capture_output=True).stdout.split()
    return commits, len(sizes), sum(int(s) for s in sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--peers-bin", type=Path, default=None)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--min-confidence", default="medium")
    args = ap.parse_args()
    repo = args.repo.resolve()
    commits, blobs, size = repo_stats(repo)
    print(f"repository: {repo}")
    print(f"commits: {commits}, unique blobs: {blobs}, unique blob bytes: {size / 1e6:.1f} MB")

    tmp = Path(tempfile.mkdtemp(prefix="secretsweep-bench-"))
    # Warm the compiled-rule cache so the runs measure the audit itself (and stop now if ours cannot run).
    warm = subprocess.run([sys.executable, "-m", "secretsweep", "scan", str(Path(__file__).parent), "-q", "-f", "json",
                           "--no-baseline", "--min-confidence", args.min_confidence], capture_output=True, text=True)
    if not warm.stdout.startswith("{"):
        sys.exit(f"secretsweep does not run for {sys.executable}: {(warm.stderr.strip() or '?').splitlines()[-1]}")

    def ours() -> list[str]:
        store = tmp / f"store-{len(list(tmp.iterdir()))}.db"
        return [sys.executable, "-m", "secretsweep", "scan", "--history", str(repo), "--store", str(store),
                "-f", "json", "-q", "--min-confidence", args.min_confidence]

    tools = [Tool("secretsweep", ours, count_json_findings)]
    if not args.no_peers:
        kf = find_tool("kingfisher", args.peers_bin)
        if kf:
            tools.append(Tool("kingfisher", [kf, "scan", str(repo), "--no-validate", "-f", "jsonl", "-q"], count_lines))
        bl = find_tool("betterleaks", args.peers_bin)
        if bl:
            tools.append(Tool("betterleaks", [bl, "git", str(repo), "--no-banner", "--exit-code", "0", "-o", "-",
                                              "-l", "error"], count_betterleaks))
    rows = measure_rounds(tools, args.runs, warmup=False)
    require(rows[0])
    print_table(rows, size / 1e6)


if __name__ == "__main__":
    main()
