"""A background thread that samples the machine every few seconds while imclass trains or
predicts: each sample goes to system.csv (system/log.py) and, compactly, into the progress bar
(`cpu 180% mem 3.1G gpu0 97% 41G`).

The thread only reads counters (psutil, NVML): a sample took 16 ms of one core on a busy
2-core machine, most of it finding this process's children, so one every 2 s costs under 1 %
of a core. It never stops the work it watches: a log that cannot be written is given up, with
one warning at the end.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imclass.errors import OutputError
from imclass.progress import Reporter
from imclass.system.log import TIME, SystemLog
from imclass.system.probes import GpuProbe, HostProbe

SAMPLE_EVERY = 2.0  # seconds between samples, by default


class Monitor:
    """Samples probes every `every` seconds on a daemon thread between start() and stop();
    stop() takes one last sample, so even a short job leaves a row."""

    def __init__(
        self, probes, every: float = SAMPLE_EVERY, log: Path | None = None, keep: bool = False
    ):
        """log: where to append the samples (None: only the progress bar shows them); keep:
        append to that file's rows when its columns are the same (a resumed run)."""
        self.probes, self.every = list(probes), every
        self.columns = tuple(column for probe in self.probes for column in probe.columns)
        self.log, self.log_error = None, None
        try:
            self.log = SystemLog(log, self.columns, keep=keep) if log is not None else None
        except (OSError, OutputError) as error:  # OutputError: a folder it cannot make
            self.log_error = error
        self.latest: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="imclass-monitor", daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends the thread (its last sample included) and releases the probes; idempotent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for probe in self.probes:
            probe.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> str:
        """The latest sample as a few words for the progress bar; '' before the first."""
        return status_text(self.latest)

    def _run(self) -> None:
        self._read()  # starts the intervals of the rates (CPU %, disk MB/s): not a sample
        while not self._stop.wait(self.every):
            self._sample()
        self._sample()

    def _read(self) -> dict[str, float]:
        row = {TIME: time.time()}
        for probe in self.probes:
            row.update(probe.sample())
        return row

    def _sample(self) -> None:
        row = self.latest = self._read()
        if self.log is not None and self.log_error is None:
            try:
                self.log.append(row)
            except OSError as error:  # a full disk, a removed folder: the work goes on
                self.log_error = error


def status_text(sample: dict[str, float]) -> str:
    """`cpu 180% mem 3.1G gpu0 97% 41G`: this process's CPU (percent of one core, its
    decoding workers included) and memory, then each GPU's utilisation and memory in use
    (beyond two GPUs, their mean utilisation and total memory)."""
    if not sample:
        return ""
    words = [
        f"cpu {sample['process_cpu_percent']:.0f}%",
        f"mem {_size(sample['process_memory_mb'])}",
    ]
    gpus = sorted({column.split("_")[0] for column in sample if column.startswith("gpu")})
    used = {gpu: sample.get(f"{gpu}_memory_used_mb", float("nan")) for gpu in gpus}
    busy = {gpu: sample.get(f"{gpu}_util_percent", float("nan")) for gpu in gpus}
    if len(gpus) > 2:
        mean = sum(busy.values()) / len(gpus)
        words.append(f"{len(gpus)} gpus {mean:.0f}% {_size(sum(used.values()))}")
    else:
        words += [f"{gpu} {busy[gpu]:.0f}% {_size(used[gpu])}" for gpu in gpus]
    return " ".join(words)


def _size(mb: float) -> str:
    """480M, 3.1G, 41G."""
    if mb < 1000:
        return f"{mb:.0f}M"
    return f"{mb / 1000:.1f}G" if mb < 10_000 else f"{mb / 1000:.0f}G"


@contextmanager
def monitored(
    reporter: Reporter, log: Path | None, *, every: float = SAMPLE_EVERY, keep: bool = False
) -> Iterator[Monitor | None]:
    """Samples the machine for the duration of the block into log (None: no file), shown in
    the reporter's progress bars; every <= 0 samples nothing (yields None). Under torchrun only
    rank 0 samples: every process sees the same machine, and only rank 0 writes the run."""
    if every <= 0 or os.environ.get("RANK", "0") != "0":
        yield None
        return
    monitor = Monitor([HostProbe(), GpuProbe()], every, log, keep).start()
    try:
        with reporter.showing(monitor.status):
            yield monitor
    finally:
        monitor.stop()
        if monitor.log_error is not None:
            reporter.warn(f"{log}: system samples could not be written ({monitor.log_error})")
