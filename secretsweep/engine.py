"""Builds the detector for a rule set, keeping the compiled hyperscan database in a cache folder.

Compiling a few hundred patterns takes seconds; loading the serialised database takes
milliseconds, which is what lets the pre-commit hook answer in well under a second.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from secretsweep.core.detect import Detector
from secretsweep.core.matcher import ruleset_digest
from secretsweep.model import Rule


def cache_dir() -> Path:
    base = os.environ.get("SECRETSWEEP_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "secretsweep"


def _hyperscan_version() -> str | None:
    try:
        import hyperscan
    except ImportError:
        return None
    return str(getattr(hyperscan, "__version__", "unknown"))


def build_detector(rules: Sequence[Rule], *, use_hyperscan: bool = True) -> Detector:
    """A detector for `rules`, with its hyperscan database read from (or written to) the cache."""
    hs_version = _hyperscan_version() if use_hyperscan else None
    if hs_version is None:
        return Detector(rules, use_hyperscan=use_hyperscan)
    path = cache_dir() / f"hs-{hs_version}-{ruleset_digest(rules)}.db"
    cached: bytes | None = None
    try:
        cached = path.read_bytes()
    except OSError:
        pass
    detector = Detector(rules, hyperscan_db=cached)
    if not detector.matcher.from_cache:
        blob = detector.matcher.serialize()
        if blob is not None:
            _write_quietly(path, blob)
    return detector


def _write_quietly(path: Path, data: bytes) -> None:
    """The cache is an optimisation: an unwritable cache folder only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        pass
