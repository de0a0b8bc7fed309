"""Progress for long jobs: a rich bar on a terminal, one plain line per step of work elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class Reporter:
    """Prints progress bars, epoch lines and warnings to stderr, or nothing when quiet."""

    def __init__(self, *, quiet: bool = False, live: bool | None = None):
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.live = (sys.stderr.isatty() if live is None else live) and not quiet
        self.warnings = 0

    @contextmanager
    def task(self, description: str, total: int) -> Iterator:
        """Yields advance(n, status='') to move the bar n items and show a status text."""
        if not self.live:
            yield lambda n, status="": None
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task_id = progress.add_task(description, total=total, status="")

            def advance(n: int, status: str = "") -> None:
                progress.update(task_id, advance=n, status=status)

            yield advance

    def line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)

    def warn(self, text: str) -> None:
        self.warnings += 1
        self.console.print(f"warning: {text}", markup=False, style="yellow")
