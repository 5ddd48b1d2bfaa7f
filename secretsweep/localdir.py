"""`.secretsweep/`: where secretsweep keeps local state beside a repository (the findings store, the
baseline lock, migration journals). It ignores itself, so git never shows it as untracked."""

from __future__ import annotations

from pathlib import Path

LOCAL_DIR = ".secretsweep"


def ensure(folder: Path) -> Path:
    """Create `folder` (a `.secretsweep/` folder) with a `.gitignore` that ignores everything in it."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# secretsweep's local state: never committed\n*\n")
    return folder
