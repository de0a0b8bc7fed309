"""The machine's sampler: its columns, its rows, the progress-bar text, and a clean stop."""

from __future__ import annotations

import math
import sys
import threading
from types import SimpleNamespace

import pytest

from imclass.errors import OutputError
from imclass.progress import Reporter
from imclass.system.log import read_system_log
from imclass.system.monitor import Monitor, monitored, status_text
from imclass.system.probes import GpuProbe, HostProbe


class CountingProbe:
    """A stand-in for a probe: its reading is how many samples it was asked for."""

    columns = ("count",)

    def __init__(self):
        self.calls, self.closed = 0, False

    def sample(self) -> dict[str, float]:
        self.calls += 1
        return {"count": float(self.calls)}

    def close(self) -> None:
        self.closed = True


class FakeNvml:
    """pynvml's calls for two GPUs; the second has no power sensor."""

    class NVMLError(Exception):
        pass

    NVML_TEMPERATURE_GPU = 0

    def __init__(self):
        self.shut = False

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=97 if handle == 0 else 12)

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(used=41e9 if handle == 0 else 2.5e9, total=141e9)

    def nvmlDeviceGetTemperature(self, handle, sensor):
        return 64

    def nvmlDeviceGetPowerUsage(self, handle):
        if handle == 1:
            raise self.NVMLError("Not Supported")
        return 512_000  # mW


def test_without_nvml_there_are_no_gpu_columns(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` fails
    probe = GpuProbe()
    assert probe.columns == () and probe.sample() == {}
    probe.close()


def test_a_driver_that_cannot_start_gives_no_gpu_columns():
    nvml = FakeNvml()

    def no_driver():
        raise nvml.NVMLError("Driver Not Loaded")

    nvml.nvmlInit = no_driver
    probe = GpuProbe(nvml)
    assert probe.columns == () and probe.sample() == {}


def test_each_gpu_has_the_columns_of_the_sensors_it_has():
    nvml = FakeNvml()
    probe = GpuProbe(nvml)
    assert probe.columns == (
        "gpu0_util_percent",
        "gpu0_memory_used_mb",
        "gpu0_memory_total_mb",
        "gpu0_temperature_c",
        "gpu0_power_w",
        "gpu1_util_percent",
        "gpu1_memory_used_mb",
        "gpu1_memory_total_mb",
        "gpu1_temperature_c",
    )
    sample = probe.sample()
    assert sample["gpu0_util_percent"] == 97 and sample["gpu1_util_percent"] == 12
    assert sample["gpu0_memory_used_mb"] == 41_000 and sample["gpu1_memory_total_mb"] == 141_000
    assert sample["gpu0_temperature_c"] == 64 and sample["gpu0_power_w"] == 512
    probe.close()
    assert nvml.shut


def test_the_host_probe_reads_plausible_values():
    probe = HostProbe()
    probe.sample()  # starts the rates' intervals
    sample = probe.sample()
    assert set(sample) == set(probe.columns)
    assert 0 <= sample["cpu_percent"] <= 100 and sample["process_cpu_percent"] >= 0
    assert 0 < sample["memory_used_mb"] < sample["memory_total_mb"]
    assert 0 < sample["process_memory_mb"] < sample["memory_total_mb"]
    assert sample.get("disk_read_mb_s", 0) >= 0


def test_a_monitor_writes_a_row_per_sample_and_stops_with_a_last_one(tmp_path):
    probe = CountingProbe()
    monitor = Monitor([probe], every=0.01, log=tmp_path / "system.csv").start()
    while probe.calls < 4:  # the first call starts the intervals and is not a row
        threading.Event().wait(0.01)
    monitor.stop()
    assert not monitor.running and probe.closed
    rows = read_system_log(tmp_path / "system.csv")
    assert [row["count"] for row in rows] == [float(n) for n in range(2, probe.calls + 1)]
    assert all(row["time"] > 1e9 for row in rows)  # Unix time in seconds
    assert monitor.latest["count"] == probe.calls


def test_a_short_job_still_leaves_one_row(tmp_path):
    monitor = Monitor([CountingProbe()], every=3600, log=tmp_path / "system.csv").start()
    monitor.stop()
    assert [row["count"] for row in read_system_log(tmp_path / "system.csv")] == [2.0]


def test_the_sampler_stops_when_the_work_is_interrupted(tmp_path):
    reporter = Reporter(quiet=True)
    with pytest.raises(KeyboardInterrupt), monitored(reporter, tmp_path / "s.csv") as monitor:
        assert monitor.running and reporter.aside == monitor.status
        raise KeyboardInterrupt
    assert not monitor.running and reporter.aside is None
    assert "imclass-monitor" not in {thread.name for thread in threading.enumerate()}
    rows = read_system_log(tmp_path / "s.csv")
    assert len(rows) == 1 and rows[0]["memory_total_mb"] > 0


def test_a_log_that_cannot_be_written_is_one_warning_and_the_work_goes_on(tmp_path):
    reporter = Reporter(quiet=True)
    log = tmp_path / "gone" / "s.csv"
    log.parent.mkdir()
    with monitored(reporter, log, every=0.01) as monitor:
        log.unlink()
        log.mkdir()  # appending to a folder fails
        while monitor.log_error is None:
            threading.Event().wait(0.01)
    assert reporter.warnings == 1 and not monitor.running


@pytest.mark.parametrize("every", [0, -1])
def test_sampling_every_zero_seconds_is_no_sampling(tmp_path, every):
    with monitored(Reporter(quiet=True), tmp_path / "s.csv", every=every) as monitor:
        assert monitor is None
    assert not (tmp_path / "s.csv").exists()


def test_under_torchrun_only_rank_zero_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with monitored(Reporter(quiet=True), tmp_path / "s.csv") as monitor:
        assert monitor is None
    assert not (tmp_path / "s.csv").exists()


def test_the_progress_text_is_short():
    sample = {"process_cpu_percent": 180.4, "process_memory_mb": 3140.0}
    assert status_text({}) == ""
    assert status_text(sample) == "cpu 180% mem 3.1G"
    assert status_text({**sample, "process_memory_mb": 480.2}) == "cpu 180% mem 480M"
    gpus = GpuProbe(FakeNvml()).sample()
    assert status_text({**sample, **gpus}) == "cpu 180% mem 3.1G gpu0 97% 41G gpu1 12% 2.5G"
    many = {
        f"gpu{i}_{k}": v
        for i in range(4)
        for k, v in (("util_percent", 90 + i), ("memory_used_mb", 40_000))
    }
    assert status_text({**sample, **many}) == "cpu 180% mem 3.1G 4 gpus 92% 160G"
    assert not math.isnan(gpus["gpu0_power_w"])


def test_a_log_that_cannot_even_be_started_is_one_warning(tmp_path):
    reporter = Reporter(quiet=True)
    (tmp_path / "file").write_text("")
    with monitored(reporter, tmp_path / "file" / "s.csv", every=0.01) as monitor:
        assert monitor.running
    assert reporter.warnings == 1 and isinstance(monitor.log_error, OSError | OutputError)
