"""`imclass doctor`: what matters for speed and correctness on this machine (devices, versions,
offline weights, the model hub) and, for a folder of images, where it lives, how many images
are large, and whether decoding or the model sets the pace, with the one piece of advice that
follows."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from imclass.data.images import expand_paths
from imclass.data.workers import cpu_cores
from imclass.errors import DataError
from imclass.models import offline_weights
from imclass.progress import Reporter
from imclass.system.storage import Storage, storage_of
from imclass.system.throughput import ImageSizes, Throughput, decode_rate, image_sizes, model_rate

SHARE_WORTH_SAVING = 0.1  # of the time, decoding large images on the CPU: worth a downsize
# ... when large images are this share of the folder at least: one 5-MP photo among 400 small
# ones (hymenoptera) is not where decoding's time goes
LARGE_SHARE_WORTH_SAVING = 0.1
PACKAGES = ("torch", "torchvision", "timm", "onnxruntime", "imclass")
# The instruction sets that decide CPU speed for convolutions (oneDNN, ONNX Runtime) when present.
INSTRUCTION_SETS = (
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni",
    "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2",
)  # fmt: skip


@dataclass(frozen=True)
class Cpu:
    model: str
    logical_cores: int
    physical_cores: int | None
    usable_cores: int  # this process's affinity: what imclass's threads use
    instruction_sets: tuple[str, ...]
    load_average: float | None  # over the last minute: a busy machine measures slower


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gb: float


@dataclass(frozen=True)
class Machine:
    versions: dict[str, str]
    cpu: Cpu
    cuda: bool
    driver: str | None  # NVML's, when nvidia-ml-py is installed
    gpus: tuple[Gpu, ...]
    offline_weights: dict[str, bool]  # architecture -> its weights package is installed
    hub: str  # "reachable", "unreachable" or "offline (HF_HUB_OFFLINE is set)"


@dataclass(frozen=True)
class DataCheck:
    path: str
    storage: Storage
    sizes: ImageSizes
    throughput: Throughput
    advice: str


def examine_machine(hub_timeout: float = 2.0) -> Machine:
    import torch

    from imclass.models.backbones import hub_answers, hub_offline_by_setting

    cuda = torch.cuda.is_available()
    if hub_offline_by_setting():
        hub = "offline (HF_HUB_OFFLINE is set)"
    else:
        hub = "reachable" if hub_answers(hub_timeout) else "unreachable"
    return Machine(
        {name: _version(name) for name in PACKAGES} | {"python": platform.python_version()},
        examine_cpu(),
        cuda,
        _nvml_driver() if cuda else None,
        _gpus() if cuda else (),
        {name: offline_weights.weights_file(name) is not None for name in offline_weights.PACKAGES},
        hub,
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def examine_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> Cpu:
    """Model name, cores and instruction sets from /proc/cpuinfo (platform's name elsewhere)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    processors = [_fields(block) for block in text.split("\n\n") if block.strip()]
    first = processors[0] if processors else {}
    flags = set((first.get("flags") or first.get("Features") or "").split())
    cores = {(p.get("physical id"), p["core id"]) for p in processors if "core id" in p}
    return Cpu(
        first.get("model name") or platform.processor() or platform.machine(),
        os.cpu_count() or 1,
        len(cores) or None,
        cpu_cores(),
        tuple(name for name in INSTRUCTION_SETS if name in flags),
        round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    )


def _fields(block: str) -> dict[str, str]:
    """One processor's 'key : value' lines."""
    pairs = (line.split(":", 1) for line in block.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _nvml_driver() -> str | None:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            return pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return None


def _gpus() -> tuple[Gpu, ...]:
    import torch

    found = []
    for index in range(torch.cuda.device_count()):
        properties = torch.cuda.get_device_properties(index)
        found.append(Gpu(properties.name, round(properties.total_memory / 2**30, 1)))
    return tuple(found)


@dataclass(frozen=True)
class Timing:
    """Which model doctor measures decoding against, and how predict would run it."""

    model: str
    image_size: int | None = None  # None: the model's default size
    flip_tta: bool = True  # as training's default recipe writes model.json
    runtime: str = "auto"  # inference/runtime.py's choices


def examine_data(folder: Path, timing: Timing, reporter: Reporter | None = None) -> DataCheck:
    """Storage, large images and decode-against-model speed of a folder of images."""
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise DataError(f"{folder}: {what}; give the folder of images to examine")
    paths = expand_paths([folder])
    sizes = image_sizes(paths)
    throughput = measure(paths, timing, reporter)
    storage = storage_of(folder)
    return DataCheck(str(folder), storage, sizes, throughput, advice(throughput, sizes, storage))


def measure(paths: list[Path], timing: Timing, reporter: Reporter | None = None) -> Throughput:
    from imclass.models import default_image_size
    from imclass.models.backbones import default_preprocessing
    from imclass.system.timed_model import load_timed_model, timing_spec

    pre = default_preprocessing(timing.model)
    pre = pre.at_size(timing.image_size or default_image_size(timing.model, pre.image_size))
    timed = load_timed_model(
        timing_spec(timing.model, pre, timing.flip_tta), timing.runtime, reporter
    )
    decoded_per_s, decoded, threads = decode_rate(paths, pre)
    model_per_s, batch = model_rate(timed.backend)
    device = getattr(timed.backend, "device", "cpu")  # ONNX Runtime runs on the CPU
    return Throughput(
        decoded_per_s, decoded, threads, timing.model, pre.image_size, timing.flip_tta,
        timed.backend.runtime, str(device), model_per_s, batch, timed.fallback,
    )  # fmt: skip


def advice(throughput: Throughput, sizes: ImageSizes, storage: Storage) -> str:
    """The one line that follows from the measurements."""
    ratio = throughput.ratio
    if throughput.verdict == "decode-bound":
        fixes = ["keep training's decode cache on (`imclass train --cache`)"]
        if sizes.large:
            fixes.insert(
                0, "`imclass downsize DATA SMALLER` (to 4 MP) before training and predicting"
            )
        if storage.network or storage.rotational:
            fixes.append("move the images to a local SSD")
        return (
            f"decode-bound: decoding takes {ratio:.1f}x the model's time per image; "
            + "; ".join(fixes)
        )
    # On the CPU decoding and the model share the cores: decoding's time is added, not hidden.
    share = ratio / (1 + ratio)
    many_large = sizes.read and sizes.large >= LARGE_SHARE_WORTH_SAVING * sizes.read
    if throughput.device == "cpu" and many_large and share >= SHARE_WORTH_SAVING:
        return (
            f"compute-bound, but decoding shares the cores and takes {share:.0%} of the time: "
            "`imclass downsize DATA SMALLER` (to 4 MP) would give most of it back"
        )
    return (
        f"compute-bound: the model, not decoding, sets the pace (decoding takes {ratio:.2f}x "
        "its time per image); nothing to change in the data"
    )


def report(machine: Machine, data: DataCheck | None) -> dict:
    """The doctor's findings as one JSON-able object (what --json prints)."""
    found = {"machine": asdict(machine), "data": None}
    if data is not None:
        found["data"] = asdict(data) | {
            "ratio": round(data.throughput.ratio, 3),
            "verdict": data.throughput.verdict,
        }
    return found
