"""Images of concurrent requests run through the model together, so a server under load works
at the batch throughput of the runtime rather than one image at a time.

One worker thread takes images from a queue: the first one waits at most `window` seconds (from
when it was queued) for others, up to `max_batch` in all, then the batch runs, off the event
loop, and each image's future gets its row. A future cancelled meanwhile (its request timed out
or went away) is left out of the batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

_STOP = object()


@dataclass(frozen=True)
class _Item:
    image: object
    future: Future
    queued: float = field(default_factory=time.monotonic)


class Batcher:
    """Batcher(predict, window=0.005, max_batch=32).start(); submit(images) -> futures of their
    rows of predict(batch) (one row an image, in order); stop() when done."""

    def __init__(
        self,
        predict: Callable[[list], np.ndarray],
        *,
        window: float,
        max_batch: int,
    ):
        self.predict, self.window, self.max_batch = predict, window, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="imclass-batcher", daemon=True)

    def start(self) -> Batcher:
        self._thread.start()
        return self

    def submit(self, images: Sequence) -> list[Future]:
        """One future per image, resolved with its row (or the batch's exception)."""
        items = [_Item(image, Future()) for image in images]
        for item in items:
            self._queue.put(item)
        return [item.future for item in items]

    def stop(self) -> None:
        """Answer what is queued, then end the worker."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while (batch := self._collect()) is not None:
            self._answer(batch)

    def _collect(self) -> list[_Item] | None:
        """The next batch: the first item, and those that come within its window (already
        queued ones without waiting), up to max_batch; None once stopped."""
        first = self._queue.get()
        if first is _STOP:
            return None
        batch, deadline = [first], first.queued + self.window
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # this batch is answered first
                break
            batch.append(item)
        return batch

    def _answer(self, batch: list[_Item]) -> None:
        live = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            rows = self.predict([item.image for item in live])
        except Exception as error:  # noqa: BLE001 - each request gets it, the worker goes on
            for item in live:
                item.future.set_exception(error)
            return
        for item, row in zip(live, rows, strict=True):
            item.future.set_result(row)
