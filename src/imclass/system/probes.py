"""What one sample of the machine reads: the host through psutil, NVIDIA GPUs through NVML.

A probe names its columns once, when it is made, and then returns a value for each of them at
every sample: system.csv has a fixed header. What the machine cannot tell (no GPU, no NVML
library, a GPU without a power sensor, a kernel that exposes no disk counters) is a column
that does not exist, never an empty one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import psutil

MB = 1e6  # bytes; memory and disk figures are in MB (10^6 bytes), as nvidia-smi's are not


class HostProbe:
    """CPU, memory and disk reads of the whole machine, and of this process: its CPU with its
    children's (the data loader's decoding processes), its own resident memory.

    Rates are since the previous sample, so the first sample only starts their intervals
    (Monitor discards it). It must be taken on the sampling thread: psutil keeps the machine's
    previous CPU times per thread."""

    def __init__(self):
        self.process = psutil.Process()
        self.family: dict[int, psutil.Process] = {}  # kept: a process's CPU % is since its last
        self.disk = psutil.disk_io_counters()  # None where the kernel exposes no disks
        self.disk_read, self.disk_time = self._disk_read(), time.monotonic()
        self.columns = (
            "cpu_percent",
            "process_cpu_percent",
            "memory_used_mb",
            "memory_total_mb",
            "process_memory_mb",
            *(("disk_read_mb_s",) if self.disk is not None else ()),
        )

    def sample(self) -> dict[str, float]:
        memory = psutil.virtual_memory()
        values = {
            "cpu_percent": psutil.cpu_percent(None),
            "process_cpu_percent": self._process_cpu(),
            "memory_used_mb": (memory.total - memory.available) / MB,
            "memory_total_mb": memory.total / MB,
            "process_memory_mb": self._own_memory(),
        }
        if self.disk is not None:
            values["disk_read_mb_s"] = self._disk_rate()
        return values

    def close(self) -> None:
        self.family.clear()

    def _process_cpu(self) -> float:
        """Percent of one core, summed over this process and its descendants (so 2 busy cores
        read 200); a process met for the first time counts from this call on."""
        try:
            members = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            members = [self.process]
        total, alive = 0.0, {}
        for member in members:
            known = self.family.get(member.pid)
            member = known if known is not None and known == member else member
            try:
                total += member.cpu_percent(None)
            except psutil.Error:  # ended between the listing and the reading
                continue
            alive[member.pid] = member
        self.family = alive
        return total

    def _own_memory(self) -> float:
        """Resident memory of this process alone: forked workers share most of its pages, so
        summing theirs would count them again (their own use shows in memory_used_mb)."""
        try:
            return self.process.memory_info().rss / MB
        except psutil.Error:
            return float("nan")

    def _disk_read(self) -> int:
        counters = psutil.disk_io_counters()
        return counters.read_bytes if counters is not None else 0

    def _disk_rate(self) -> float:
        now, read = time.monotonic(), self._disk_read()
        rate = max(read - self.disk_read, 0) / MB / max(now - self.disk_time, 1e-9)
        self.disk_read, self.disk_time = read, now
        return rate


# column suffix -> how NVML reads it from a device handle
GPU_READINGS = {
    "util_percent": lambda nvml, handle: nvml.nvmlDeviceGetUtilizationRates(handle).gpu,
    "memory_used_mb": lambda nvml, handle: nvml.nvmlDeviceGetMemoryInfo(handle).used / MB,
    "memory_total_mb": lambda nvml, handle: nvml.nvmlDeviceGetMemoryInfo(handle).total / MB,
    "temperature_c": lambda nvml, handle: nvml.nvmlDeviceGetTemperature(
        handle, nvml.NVML_TEMPERATURE_GPU
    ),
    "power_w": lambda nvml, handle: nvml.nvmlDeviceGetPowerUsage(handle) / 1000,  # from mW
}


class GpuProbe:
    """Each NVIDIA GPU NVML sees (numbered as nvidia-smi numbers them, whatever
    CUDA_VISIBLE_DEVICES says): utilisation, memory, temperature, power. Without the NVML
    library or a GPU it has no columns. nvml: the pynvml module (a stand-in in tests)."""

    def __init__(self, nvml=None):
        self.nvml = nvml if nvml is not None else _load_pynvml()
        self.readings: list[tuple[str, object, Callable]] = []  # (column, handle, reader)
        if self.nvml is None:
            self.columns: tuple[str, ...] = ()
            return
        try:
            self.nvml.nvmlInit()
            handles = [
                self.nvml.nvmlDeviceGetHandleByIndex(i)
                for i in range(self.nvml.nvmlDeviceGetCount())
            ]
        except self.nvml.NVMLError:  # no driver, no device
            self.nvml, self.columns = None, ()
            return
        for index, handle in enumerate(handles):
            for suffix, reader in GPU_READINGS.items():
                if self._read(reader, handle) is not None:  # a sensor this GPU lacks: no column
                    self.readings.append((f"gpu{index}_{suffix}", handle, reader))
        self.columns = tuple(column for column, _, _ in self.readings)

    def sample(self) -> dict[str, float]:
        values = {}
        for column, handle, reader in self.readings:
            value = self._read(reader, handle)
            values[column] = float("nan") if value is None else float(value)
        return values

    def close(self) -> None:
        if self.nvml is not None:
            with contextlib.suppress(self.nvml.NVMLError):
                self.nvml.nvmlShutdown()
            self.nvml = None

    def _read(self, reader, handle):
        try:
            return reader(self.nvml, handle)
        except self.nvml.NVMLError:
            return None


def _load_pynvml():
    """The pynvml module of nvidia-ml-py, or None where it is not installed."""
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml
