"""Running one function over many files in worker processes, in order, with progress."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator


def cpu_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's total)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def process_map(
    function: Callable,
    items: list,
    *,
    workers: int | None = None,
    chunksize: int = 8,
    advance: Callable[[int], None] | None = None,
) -> Iterator:
    """Yield function(item) for each item in order; with 0 workers, in this process.

    function must be a module-level function (it is sent to the workers by name). Each result
    is yielded as it arrives, so a long job shows progress and holds little in memory.
    """
    workers = min(cpu_cores(), 16) if workers is None else workers
    advance = advance or (lambda n: None)
    if workers <= 1 or len(items) < 2 * chunksize:
        yield from _in_process(function, items, advance)
        return
    context = multiprocessing.get_context("fork" if _can_fork() else "spawn")
    with context.Pool(workers) as pool:
        for result in pool.imap(function, items, chunksize=chunksize):
            advance(1)
            yield result


def _in_process(function: Callable, items: Iterable, advance) -> Iterator:
    for item in items:
        result = function(item)
        advance(1)
        yield result


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()
