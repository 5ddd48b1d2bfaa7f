"""A progress bar on stderr for long scans (rich), silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


class ScanProgress:
    """Blobs, MB, MB/s and ETA. Use as a context manager; `update` is the scan's progress callback."""

    def __init__(self, enabled: bool, label: str = "scanning") -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.label = label
        self._bar: Any = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("blobs  {task.fields[mb]:.0f} MB  {task.fields[rate]:.0f} MB/s"),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None, mb=0.0, rate=0.0)
        return self

    def set_total(self, total: int, _bytes: int = 0) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def update(self, blobs: int, size: int) -> None:
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self._started, 1e-6)
            self._bar.update(self._task, completed=blobs, mb=size / 1e6, rate=size / 1e6 / elapsed)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
