"""Working-tree benchmark: secretsweep against any folder, with Kingfisher and Betterleaks beside it.

    python benchmarks/bench_worktree.py PATH [--runs 5] [--peers-bin /opt/peers/bin]

Prints wall time (median, whole process including start-up), MB/s, files/s, peak RSS and finding
counts. Peers run only when their binaries are found (on PATH or in --peers-bin).
"""

from __future__ import annotations

import argparse
import compileall
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import (  # noqa: E402
    Measured,
    count_betterleaks,
    count_json_findings,
    count_lines,
    find_tool,
    measure,
    print_table,
    require,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peers-bin", type=Path, default=None, help="folder holding kingfisher and betterleaks")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    target = str(args.path.resolve())
    # `pip install` compiles bytecode; an editable checkout under PYTHONDONTWRITEBYTECODE would not.
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "secretsweep"), quiet=1)

    # Our own summary gives the bytes and files actually scanned.
    probe = Path("/tmp/secretsweep-bench-probe.json")
    from measure import run_once

    run_once([sys.executable, "-m", "secretsweep", "scan", target, "-f", "json", "-q"], probe)
    summary = json.loads(probe.read_text())["summary"]
    size_mb = summary["bytes"] / 1e6
    print(f"target: {target}")
    print(f"files scanned: {summary['blobs']}, {size_mb:.1f} MB, skipped: {summary['skipped']}")

    rows: list[Measured] = [require(measure(
        "secretsweep", [sys.executable, "-m", "secretsweep", "scan", target, "-f", "json", "-q"], args.runs,
        count_json_findings))]
    if not args.no_peers:
        kf = find_tool("kingfisher", args.peers_bin)
        if kf:
            rows.append(measure("kingfisher", [kf, "scan", target, "--git-history", "none", "--no-validate",
                                               "-f", "jsonl", "-q"], args.runs, count_lines))
        bl = find_tool("betterleaks", args.peers_bin)
        if bl:
            rows.append(measure("betterleaks", [bl, "fs", target, "--no-banner", "--exit-code", "0", "-o", "-",
                                                "-l", "error"], args.runs, count_betterleaks))
    print_table(rows, size_mb)
    ours = rows[0]
    print(f"secretsweep: {summary['blobs'] / ours.wall:.0f} files/s")


if __name__ == "__main__":
    main()
