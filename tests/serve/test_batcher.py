"""The batcher: images of concurrent submissions run together, up to max_batch, and each future
gets its own row; a cancelled one is left out; a failing batch fails each of its futures."""

import threading
from concurrent.futures import Future

import numpy as np
import pytest

from imclass.serve.batcher import Batcher


class Doubler:
    """predict: each image (a number) becomes the row [2x]; records every batch's images."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __call__(self, images: list[int]) -> np.ndarray:
        self.batches.append(list(images))
        return np.array([[2 * x] for x in images])


def results(futures: list[Future]) -> list[int]:
    return [int(future.result(timeout=30)[0]) for future in futures]


def test_images_submitted_within_the_window_run_as_one_batch_in_order():
    predict = Doubler()
    batcher = Batcher(predict, window=30, max_batch=8).start()  # a window no test outlasts
    futures = batcher.submit([1, 2, 3]) + batcher.submit([4]) + batcher.submit([5, 6, 7, 8])
    assert results(futures) == [2, 4, 6, 8, 10, 12, 14, 16]
    batcher.stop()
    assert predict.batches == [[1, 2, 3, 4, 5, 6, 7, 8]]


def test_a_batch_holds_at_most_max_batch_images():
    predict = Doubler()
    batcher = Batcher(predict, window=30, max_batch=4).start()
    futures = batcher.submit(list(range(10)))
    assert results(futures[:8]) == [2 * x for x in range(8)]  # two full batches ran at once
    batcher.stop()  # answers the rest without waiting out the window
    assert results(futures) == [2 * x for x in range(10)]
    assert predict.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_with_no_window_each_submission_from_threads_is_answered():
    predict = Doubler()
    batcher = Batcher(predict, window=0, max_batch=32).start()
    answers: dict[int, list[int]] = {}

    def ask(start: int) -> None:
        answers[start] = results(batcher.submit(list(range(start, start + 3))))

    threads = [threading.Thread(target=ask, args=(10 * i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.stop()
    assert answers == {10 * i: [20 * i, 20 * i + 2, 20 * i + 4] for i in range(8)}
    assert sorted(x for batch in predict.batches for x in batch) == sorted(
        x for i in range(8) for x in range(10 * i, 10 * i + 3)
    )


def test_a_cancelled_image_is_left_out_of_its_batch():
    predict = Doubler()
    batcher = Batcher(predict, window=30, max_batch=3).start()
    gone, kept = batcher.submit([1]), batcher.submit([2, 3])
    assert gone[0].cancel()
    assert results(kept) == [4, 6]
    batcher.stop()
    assert predict.batches == [[2, 3]]


def test_a_failing_batch_fails_each_of_its_futures_and_the_worker_goes_on():
    def predict(images):
        if 0 in images:
            raise ValueError("no zeros")
        return np.array([[x] for x in images])

    batcher = Batcher(predict, window=30, max_batch=2).start()
    failing = batcher.submit([0, 1])
    working = batcher.submit([5, 6])
    for future in failing:
        with pytest.raises(ValueError, match="no zeros"):
            future.result(timeout=30)
    assert results(working) == [5, 6]
    batcher.stop()
