"""Worker pools under hostile conditions: other threads holding locks, Ctrl-C, many fresh runs."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from tests.helpers import make_image_folder, scene

from imclass.data.dataset import ImageSet
from imclass.data.inspection import read_header
from imclass.data.loader import make_loader
from imclass.data.workers import parallel_map

IMCLASS = [sys.executable, "-m", "imclass"]
HANG = 60  # seconds: far beyond any of these runs; reaching it means a deadlock

_held = threading.Lock()


def _double_under_lock(x: int) -> int:
    with _held:
        return 2 * x


def test_a_pool_finishes_while_another_thread_holds_a_lock_the_work_needs():
    """The fork hang made deterministic: a forked worker inherits the lock held and waits
    forever; a worker thread waits until the holder lets go."""
    taken, results = threading.Event(), []

    def hold_for_a_moment():
        with _held:
            taken.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold_for_a_moment)
    holder.start()
    taken.wait()
    runner = threading.Thread(
        target=lambda: results.extend(parallel_map(_double_under_lock, list(range(40)), workers=2)),
        daemon=True,
    )
    runner.start()
    runner.join(HANG)
    holder.join()
    assert not runner.is_alive(), "the pool deadlocked"
    assert results == [2 * x for x in range(40)]


def _fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError("seven")
    return x


def test_an_error_in_a_worker_reaches_the_caller_and_the_results_before_it_arrive():
    seen = []
    with pytest.raises(ValueError, match="seven"):
        seen.extend(parallel_map(_fail_on_seven, list(range(64)), workers=2, chunksize=1))
    assert seen == list(range(7))


def test_results_come_in_order_with_progress_for_each_item():
    counted = []
    out = list(
        parallel_map(abs, list(range(-50, 50)), workers=3, chunksize=4, advance=counted.append)
    )
    assert out == [abs(x) for x in range(-50, 50)]
    assert sum(counted) == 100


_release = threading.Event()
_started: list[int] = []


def _wait_after_the_first_chunk(x: int) -> int:
    _started.append(x)
    if x >= 8:
        _release.wait(HANG)
    return x


def test_a_map_stopped_early_leaves_only_the_calls_under_way_to_finish():
    """What Ctrl-C does to a command: the caller stops reading; each thread then finishes the
    call it is in and starts nothing more, so the command ends at once."""
    _started.clear()
    results = parallel_map(_wait_after_the_first_chunk, list(range(64)), workers=2, chunksize=8)
    assert [next(results) for _ in range(8)] == list(range(8))
    results.close()
    _release.set()
    deadline = time.monotonic() + HANG
    # the pool's own threads: other tests may leave threads of theirs running (for HANG s)
    while _pool_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _pool_threads()
    assert set(range(8)) <= set(_started)
    assert len(_started) <= 10  # chunk 0, then one call of chunks 1 and 2 (of 8 chunks)


def _pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("imclass-worker")]


def _photos(folder: Path, count: int, size=(240, 180), copies: int = 0) -> Path:
    """count distinct photo-like JPEGs in two class folders; the last `copies` are byte copies."""
    paths = [folder / f"class_{index % 2}" / f"photo_{index:03d}.jpg" for index in range(count)]
    for index, path in enumerate(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        if index >= count - copies:
            shutil.copy(paths[index - copies], path)
        else:
            scene(index, size).save(path, quality=90)
    return folder


def _imclass(args, cache: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "IMCLASS_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [*IMCLASS, *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _finished(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"{process.args} hung")
    return process.returncode, out, err


def test_ctrl_c_stops_downsize_with_one_line_and_130(tmp_path):
    """Ctrl-C reaches the whole foreground process group, as a terminal sends it."""
    data = _photos(tmp_path / "data", 400, size=(640, 480))
    out = tmp_path / "out"
    process = _imclass(
        ["downsize", data, out, "--max-side", "64"], tmp_path / "cache", start_new_session=True
    )
    deadline = time.monotonic() + HANG
    while not any(out.rglob("*.jpg")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "downsize finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    code, _, err = _finished(process)
    assert (code, err.splitlines()) == (130, ["interrupted"])
    assert len(list(out.rglob("*.jpg"))) < 400


def test_a_normal_downsize_prints_nothing_from_workers(tmp_path):
    """The old pools' workers inherited the CLI's SIGTERM handler, so closing the pool printed
    KeyboardInterrupt tracebacks in 4 of 10 runs."""
    data = _photos(tmp_path / "data", 60)
    for run in range(3):
        code, out, err = _finished(
            _imclass(["downsize", data, tmp_path / f"out{run}", "--max-side", "64"], tmp_path)
        )
        assert (code, err) == (0, "")
        assert "60 resized" in out


@pytest.mark.slow  # 30 runs of the CLI: 25-42 s on 2 busy cores
def test_dedup_on_a_fresh_cache_never_hangs(tmp_path):
    """dedup hung in 2 of ~76 fresh-cache runs with forked workers."""
    data = _photos(tmp_path / "data", 200, size=(160, 120), copies=4)
    for run in range(30):
        code, out, err = _finished(_imclass(["dedup", data], tmp_path / f"cache{run}"))
        assert (code, err) == (0, "")
        assert out.splitlines()[-1] == "4 group(s), 4 redundant file(s), 0 group(s) spanning splits"


def _signal_dispositions(picture) -> torch.Tensor:
    """What a decoding worker does on SIGINT and SIGTERM, as a tensor the batch carries back."""
    return torch.tensor(
        [
            signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        ]
    )


def test_decoding_workers_leave_ctrl_c_to_the_main_process(tmp_path):
    """The CLI turns SIGTERM into KeyboardInterrupt; a worker that inherited that (or Python's
    SIGINT handler) printed a traceback of its own on Ctrl-C or when the loader stopped it."""
    data = make_image_folder(tmp_path / "data", per_class=4)
    paths = tuple(sorted(data.rglob("*.png")))
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        loader = make_loader(
            ImageSet(paths, (0,) * len(paths)), _signal_dispositions, batch_size=2, workers=2
        )
        rows = torch.cat([batch.inputs for batch in loader])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert rows.tolist() == [[True, True]] * len(paths)


def test_headers_read_in_threads_leave_the_warning_filters_as_they_were(tmp_path, monkeypatch):
    """Two threads open images at once; warnings.catch_warnings entered and left out of order
    would leave one thread's 'bomb warnings are errors' filter behind, for the whole process."""
    image = tmp_path / "a.png"
    scene(0, (64, 48)).save(image)
    real_open, opening = Image.open, threading.Event()

    def slow_open(path, *args, **kwargs):
        opening.set()
        time.sleep(0.2)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", slow_open)
    before = list(warnings.filters)
    first = threading.Thread(target=read_header, args=(image,))
    first.start()
    opening.wait(5)
    assert read_header(image).width == 64
    first.join()
    assert warnings.filters == before
