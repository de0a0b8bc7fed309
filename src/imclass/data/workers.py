"""Running one function over many files in worker threads, in order, with progress.

Threads, not processes. Forking a process that already runs threads (rich's refresh thread,
sqlite, torch's pools) copies locks held by threads that do not exist in the child: `dedup`
hung in 2 of ~76 runs that way. Spawned or forkserver workers cannot deadlock like that, but each
pool costs 0.75-0.9 s to start on a 2-core machine (a fresh interpreter importing imclass.data),
longer than hashing 400 small photos takes. Threads start in microseconds and share nothing to
pickle, and Pillow releases the GIL while it decodes, resizes and converts: profiled over the
work these pools run, that is 60-78 % of the time for 0.2-megapixel photos and 94-97 % for
12-megapixel ones (decode + copy + resize), so several threads keep several cores busy. Worker
threads never see SIGINT, so Ctrl-C interrupts only the caller; the work not yet started is
cancelled and each thread finishes only the call under way (milliseconds; ~0.3 s for a
12-megapixel photo).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

AHEAD = 4  # chunks queued per worker: enough to keep threads busy, little to cancel on Ctrl-C


def cpu_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's total)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def parallel_map(
    function: Callable,
    items: list,
    *,
    workers: int | None = None,
    chunksize: int = 8,
    advance: Callable[[int], None] | None = None,
) -> Iterator:
    """Yield function(item) for each item in order; with 0 or 1 workers, in this thread.

    Items go to the threads chunksize at a time; each result is yielded as it arrives, so a long
    job shows progress and holds little in memory.
    """
    workers = min(cpu_cores(), 16) if workers is None else workers
    advance = advance or (lambda n: None)
    if workers <= 1 or len(items) < 2 * chunksize:
        for item in items:
            result = function(item)
            advance(1)
            yield result
        return
    for results in _threaded_chunks(function, items, workers, chunksize):
        for result in results:
            advance(1)
            yield result


def _threaded_chunks(function: Callable, items: list, workers: int, chunksize: int) -> Iterator:
    """Results chunk by chunk, in order, with at most AHEAD chunks per worker queued."""
    chunks = (items[start : start + chunksize] for start in range(0, len(items), chunksize))
    pending: deque[Future] = deque()
    stop = threading.Event()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="imclass-worker")
    try:
        for chunk in chunks:
            pending.append(pool.submit(_run_chunk, function, chunk, stop))
            if len(pending) >= AHEAD * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _run_chunk(function: Callable, chunk: list, stop: threading.Event) -> list:
    """function over the chunk; cut short once the caller has stopped reading (Ctrl-C)."""
    results = []
    for item in chunk:
        if stop.is_set():
            break
        results.append(function(item))
    return results
