"""`secretsweep hook install`: a plain git pre-commit hook that runs `secretsweep scan --staged`,
keeping whatever hook was there before (it runs first, and its failure still stops the commit)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from secretsweep.errors import SourceError

MARKER = "# installed by secretsweep hook install"
CHAINED = "pre-commit.secretsweep-chained"


def hooks_dir(repo: Path) -> Path:
    """Where git looks for hooks (core.hooksPath respected)."""
    res = subprocess.run(["git", "-C", str(repo), "rev-parse", "--git-path", "hooks"], capture_output=True, text=True)
    if res.returncode != 0:
        raise SourceError(f"{repo}: not a git repository")
    path = Path(res.stdout.strip())
    return path if path.is_absolute() else repo / path


def script(python: str) -> str:
    return f"""#!/bin/sh
{MARKER}
# Runs the hook that was here before, then blocks commits that add secrets.
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    "$chained" "$@" || exit $?
fi
exec {shlex.quote(python)} -m secretsweep scan --staged
"""


def install(repo: Path, python: str | None = None) -> tuple[Path, bool]:
    """Write the hook; returns its path and whether an existing hook was chained."""
    hooks = hooks_dir(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / "pre-commit"
    chained = False
    if hook.exists() or hook.is_symlink():
        try:
            ours = MARKER in hook.read_text(errors="replace")
        except OSError:
            ours = False
        if not ours:
            target = hooks / CHAINED
            if target.exists():
                raise SourceError(f"{target} already exists; move it away before installing again")
            os.replace(hook, target)
            chained = True
        else:
            chained = (hooks / CHAINED).exists()
    hook.write_text(script(python or sys.executable))
    hook.chmod(0o755)
    return hook, chained
