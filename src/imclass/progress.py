"""Progress for long jobs: a rich bar on a terminal, one plain line per step of work elsewhere."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from imclass.errors import TrainingInterrupted


class LiteralConsole(Console):
    """A rich console that prints text as it is: no markup ("[bold]x" stays), no emoji codes
    (":cat:" stays), no highlighting; a name that is not UTF-8 (Python's surrogate escapes) is
    shown with backslash escapes, measured as printed so tables stay aligned."""

    def __init__(self, **kwargs):
        super().__init__(markup=False, emoji=False, highlight=False, soft_wrap=True, **kwargs)

    def render_str(self, text: str, **kwargs):
        return super().render_str(printable(text), **kwargs)


def printable(text: str) -> str:
    """text with every character that cannot be encoded (a lone surrogate) as a backslash escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class AsideColumn(ProgressColumn):
    """A progress bar's column of text from a function, read at every refresh."""

    def __init__(self, text: Callable[[], str]):
        super().__init__()
        self.text = text

    def render(self, task) -> Text:
        return Text(self.text(), style="dim")


# Set by the CLI's Ctrl-C / SIGTERM handler (cli/group.py) before it raises KeyboardInterrupt.
# Python swallows an exception raised inside a weakref callback or __del__ ("Exception
# ignored in ..."), so a signal landing there would be lost; the long loops check this flag at
# safe points (each training epoch, each experiment point) and raise it again.
_interrupted = threading.Event()


def note_interrupt() -> None:
    _interrupted.set()


def forget_interrupt() -> None:
    _interrupted.clear()


def interrupt_pending() -> bool:
    return _interrupted.is_set()


def raise_if_interrupted() -> None:
    """KeyboardInterrupt for a Ctrl-C that was noted but may have been swallowed; once."""
    if _interrupted.is_set() and threading.current_thread() is threading.main_thread():
        _interrupted.clear()
        raise KeyboardInterrupt


@contextmanager
def interrupt_ends_with(hint: Callable[[], str]) -> Iterator[None]:
    """A Ctrl-C in the block ends it as TrainingInterrupted(hint()), the long command's own
    message (how to resume), not the run's it was training. The block's end is a safe point:
    a Ctrl-C that Python swallowed after the last one inside would otherwise let the command
    finish and then print a bare "interrupted"."""
    try:
        yield
        raise_if_interrupted()
    except (KeyboardInterrupt, TrainingInterrupted):
        raise TrainingInterrupted(hint()) from None


class Reporter:
    """Prints progress bars, epoch lines and warnings to stderr, or nothing when quiet; counts
    warnings either way (`warnings`), so a quiet caller can still tell that some were given."""

    def __init__(self, *, quiet: bool = False, live: bool | None = None):
        self.console = LiteralConsole(stderr=True)
        self.quiet = quiet
        self.live = (sys.stderr.isatty() if live is None else live) and not quiet
        self.warnings = 0
        self.aside: Callable[[], str] | None = None  # see showing()

    @contextmanager
    def showing(self, aside: Callable[[], str]) -> Iterator[None]:
        """Within the block, progress bars also show aside(), read at each refresh of the bar
        (the machine's latest sample, system/monitor.py)."""
        previous, self.aside = self.aside, aside
        try:
            yield
        finally:
            self.aside = previous

    @contextmanager
    def task(self, description: str, total: int) -> Iterator:
        """Yields advance(n, status='') to move the bar n items and show a status text."""
        if not self.live:
            yield lambda n, status="": None
            return
        columns = (
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            TimeRemainingColumn(),
            *([AsideColumn(self.aside)] if self.aside else []),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task_id = progress.add_task(description, total=total, status="")

            def advance(n: int, status: str = "") -> None:
                progress.update(task_id, advance=n, status=status)

            yield advance

    def line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def warn(self, text: str) -> None:
        self.warnings += 1
        if not self.quiet:
            self.console.print(f"warning: {text}", style="yellow")
