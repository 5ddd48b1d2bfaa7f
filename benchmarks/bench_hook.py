"""Pre-commit benchmark: whole-process time of `secretsweep scan --staged` in a real repository with a
few staged files, beside `betterleaks git --staged` in the same run.

    python benchmarks/bench_hook.py REPO [--files 3] [--runs 15] [--peers-bin /opt/peers/bin]

It appends a line to a few tracked text files and stages them, measures, then restores the index
and the files exactly as they were. Bytecode is compiled first, as `pip install` does.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import find_tool, run_once  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--files", type=int, default=3)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--peers-bin", type=Path, default=None)
    args = ap.parse_args()
    repo = args.repo.resolve()
    git = ["git", "-C", str(repo)]
    if subprocess.run([*git, "diff", "--cached", "--quiet"]).returncode != 0:
        raise SystemExit(f"{repo} already has staged changes; use a clean clone")
    compileall.compile_dir(str(ROOT / "secretsweep"), quiet=1)
    tracked = subprocess.run([*git, "ls-files", "*.py"], capture_output=True, text=True).stdout.split()
    chosen = tracked[: args.files]
    originals = {p: (repo / p).read_bytes() for p in chosen}
    try:
        for p in chosen:
            with open(repo / p, "a") as f:
                f.write("\n# touched by the secretsweep hook benchmark\n")
        subprocess.run([*git, "add", *chosen], check=True)
        commits = subprocess.run([*git, "rev-list", "--count", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"repository: {repo} ({commits} commits), staged files: {len(chosen)}")
        tools = {"secretsweep": [sys.executable, "-m", "secretsweep", "scan", "--staged", "-q", str(repo)]}
        bl = find_tool("betterleaks", args.peers_bin)
        if bl:
            tools["betterleaks"] = [bl, "git", "--staged", "--no-banner", "-l", "error", str(repo)]
        results = {}
        for name, argv in tools.items():
            run_once(argv)  # warm caches (compiled rules, page cache)
            walls = [run_once(argv)[0] for _ in range(args.runs)]
            results[name] = statistics.median(walls)
            print(f"{name:12} median {results[name]:.3f}s  min {min(walls):.3f}s  max {max(walls):.3f}s")
        if "betterleaks" in results:
            print(f"secretsweep / betterleaks: {results['secretsweep'] / results['betterleaks']:.2f}x")
    finally:
        subprocess.run([*git, "reset", "-q", "--", *chosen], check=True)
        for p, data in originals.items():
            (repo / p).write_bytes(data)


if __name__ == "__main__":
    main()
