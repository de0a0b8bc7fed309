"""The trained model inside a run directory: weights as safetensors, everything else as JSON.

model.json is the single source of preprocessing for evaluate, predict, export and serve.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from imclass._version import __version__
from imclass.data.transforms import Preprocessing
from imclass.errors import RunDirError
from imclass.files import atomic_path, write_json
from imclass.models.heads import build_model

WEIGHTS_FILE = "model.safetensors"
SPEC_FILE = "model.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelSpec:
    """What a trained model is: architecture, class names in output order, preprocessing."""

    architecture: str
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    multilabel: bool = False
    thresholds: tuple[float, ...] | None = None  # multi-label: per class, on probabilities
    global_pool: str = "avg"  # the head (models/heads.py): "avg" timm's own, "csra" multi-label
    temperature: float = 1.0  # logits are divided by it before softmax/sigmoid (calibration)
    flip_tta: bool = False  # logits are the mean of the image's and its mirror image's

    def to_json(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "imclass_version": __version__,
            "architecture": self.architecture,
            "classes": list(self.classes),
            "multilabel": self.multilabel,
            "thresholds": list(self.thresholds) if self.thresholds else None,
            "global_pool": self.global_pool,
            "temperature": self.temperature,
            "flip_tta": self.flip_tta,
            **{
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self.preprocessing).items()
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelSpec:
        pre = Preprocessing(
            image_size=int(data["image_size"]),
            mean=tuple(data["mean"]),
            std=tuple(data["std"]),
            interpolation=data["interpolation"],
            crop_pct=float(data["crop_pct"]),
        )
        thresholds = data.get("thresholds")
        return cls(
            data["architecture"],
            tuple(data["classes"]),
            pre,
            bool(data["multilabel"]),
            tuple(map(float, thresholds)) if thresholds else None,
            data.get("global_pool", "avg"),
            float(data.get("temperature", 1.0)),
            bool(data.get("flip_tta", False)),
        )

    def decision_thresholds(self) -> tuple[float, ...]:
        """Multi-label thresholds on probabilities: tuned ones, else 0.5 for every class."""
        return self.thresholds or (0.5,) * len(self.classes)


def save_model(directory: Path | str, model: nn.Module, spec: ModelSpec) -> None:
    """Write model.safetensors then model.json, each atomically."""
    directory = Path(directory)
    save_weights(directory / WEIGHTS_FILE, model.state_dict())
    save_spec(directory, spec)


def save_spec(directory: Path | str, spec: ModelSpec) -> None:
    write_json(Path(directory) / SPEC_FILE, spec.to_json())


def save_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in state.items()}
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary))


def read_spec(directory: Path | str) -> ModelSpec:
    path = Path(directory) / SPEC_FILE
    if not path.is_file():
        raise RunDirError(f"{directory}: not a run directory ({SPEC_FILE} is missing)")
    try:
        return ModelSpec.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise RunDirError(f"{path}: unreadable model description ({error})") from None


def load_model(directory: Path | str) -> tuple[nn.Module, ModelSpec]:
    """Rebuild the trained model from a run directory alone, in eval mode on the CPU."""
    spec = read_spec(directory)
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise RunDirError(f"{directory}: {WEIGHTS_FILE} is missing")
    model = build_model(spec.architecture, len(spec.classes), spec.global_pool, pretrained=False)
    try:
        model.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, OSError) as error:
        raise RunDirError(f"{path}: weights do not fit {spec.architecture} ({error})") from None
    return model.eval(), spec
