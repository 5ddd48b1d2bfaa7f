"""Build a real git repository from one of the fast-import streams beside this file.

    python sample_repos/build.py webapp /tmp/webapp

Stdlib only, so it runs before anything is installed; the tests use it too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(name: str, dest: Path) -> Path:
    """Create `dest` as a repository holding every branch and tag of sample_repos/<name>.fi, main checked out."""
    stream = HERE / f"{name}.fi"
    if not stream.is_file():
        known = ", ".join(sorted(p.stem for p in HERE.glob("*.fi")))
        raise SystemExit(f"no sample named {name!r} (known: {known})")
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)

    def git(*args: str, data: bytes | None = None) -> None:
        subprocess.run(["git", "-C", str(dest), *args], input=data, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("fast-import", "--quiet", data=stream.read_bytes())
    git("checkout", "-q", "-f", "main")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python sample_repos/build.py NAME DEST")
    print(build(sys.argv[1], Path(sys.argv[2])))
