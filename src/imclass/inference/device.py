"""Where the arithmetic runs: CUDA with autocast when present, else every CPU core."""

from __future__ import annotations

import contextlib

import torch

from imclass.data.workers import cpu_cores
from imclass.errors import ConfigError


def pick_device(request: str = "auto") -> torch.device:
    if request == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {request!r} was asked for but CUDA is not available here")
    return torch.device(request)


def use_all_cores() -> None:
    torch.set_num_threads(cpu_cores())


def autocast(device: torch.device):
    """bf16 autocast on GPUs that have it, fp16 on older ones; full precision on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def prepare(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move to the device in channels_last, which is faster for convolutions on CPU and GPU."""
    return model.to(device=device, memory_format=torch.channels_last)


def to_device(inputs: torch.Tensor, device: torch.device) -> torch.Tensor:
    return inputs.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)


# On the CPU a large batch is slower than the same images in small pieces (the activations of
# a few images stay in cache) and needs far more memory: tf_efficientnet_lite0 at 224 px trains
# at ~25 img/s in pieces of 8 against ~17 img/s in one batch of 32 (1.6 against 3.5 GB), and
# tf_efficientnet_lite2 at 390 px at ~5 against ~2 img/s (4 against 12 GB).
CPU_PIECE_PIXELS = 8 * 224 * 224


def pieces(inputs: torch.Tensor, device: torch.device) -> int:
    """How many images to run through the network at once: the whole batch on a GPU, a few
    (fewer as the images grow) on the CPU."""
    if device.type == "cuda":
        return len(inputs)
    return max(1, round(CPU_PIECE_PIXELS / (inputs.shape[-1] * inputs.shape[-2])))
