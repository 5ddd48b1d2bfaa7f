"""The slow hostile inputs, each timed with its peak memory: a 50 MB single-line file, 200,000 tiny
files, a repository with 50,000 refs, and a 2 GB file (skipped by size, never read).

    python benchmarks/bench_hostile.py [--workdir /tmp/secretsweep-hostile] [--keep]

Each case must end with exit code 0 or 1, a summary, no traceback, and bounded memory.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_once  # noqa: E402


def minified_line(path: Path, size: int) -> None:
    rng = random.Random(1)
    words = ["var", "function", "return", "this", "null", "=", "(", ")", "{", "}", ";", "password", "token"]
    with open(path, "w") as f:
        written = 0
        while written < size:
            chunk = "".join(rng.choice(words) + rng.choice(string.ascii_letters) for _ in range(2000))
            f.write(chunk)
            written += len(chunk)


def many_files(root: Path, count: int) -> None:
    for i in range(count):
        d = root / f"d{i // 1000}"
        if i % 1000 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.txt").write_text(f"value = {i}\n")


def many_refs(root: Path, count: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "a.txt").write_text("hello\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@e", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@e"}
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "x"], check=True, env=env)
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    refs = "".join(f"create refs/heads/b{i} {head}\n" for i in range(count))
    subprocess.run(["git", "-C", str(root), "update-ref", "--stdin"], input=refs.encode(), check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/secretsweep-hostile"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    scan = [sys.executable, "-m", "secretsweep", "scan", "-q", "--no-baseline"]
    cases = []
    line_dir = work / "line"
    line_dir.mkdir()
    minified_line(line_dir / "bundle.min.js", 50 * 1024 * 1024)
    cases.append(("50 MB single line", [*scan, str(line_dir), "--max-file-size", "64MB"]))
    files = work / "files"
    many_files(files, 200_000)
    cases.append(("200,000 tiny files", [*scan, str(files)]))
    refs = work / "refs"
    many_refs(refs, 50_000)
    cases.append(("50,000 refs (history)", [*scan, "--history", str(refs)]))
    big = work / "big"
    big.mkdir()
    with open(big / "huge.bin", "wb") as f:
        f.truncate(2 * 1024**3)
    cases.append(("2 GB file (sparse)", [*scan, str(big)]))
    print(f"{'case':26} {'exit':>4} {'wall s':>8} {'peak MB':>8}")
    for name, argv in cases:
        wall, peak, code = run_once(argv)
        ok = "ok" if code in (0, 1) else "FAILED"
        print(f"{name:26} {code:>4} {wall:8.2f} {peak:8.1f}  {ok}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
