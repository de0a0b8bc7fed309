"""What an exported model file says about itself: the one description an export writes (into an
ONNX file's metadata_props, or into the JSON beside a TorchScript file) and a runtime reads back.

Keys (ONNX metadata_props, each a string; the JSON beside a TorchScript file has them without
the "imclass." prefix, with the model description as an object):
    imclass.format          "1"
    imclass.model           model.json of the run: classes, preprocessing, thresholds, temperature
    imclass.weights_sha256  the sha256 of the run's model.safetensors when it was exported
    imclass.quantization    "none", "dynamic-int8" or "static-int8"
    imclass.input           the input in words
    imclass.outputs         the outputs in words
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from imclass.errors import ExportError
from imclass.inference.end_to_end import INPUT_NAME
from imclass.models.run_dir import ModelSpec

FORMAT = 1
PREFIX = "imclass."
QUANTIZATIONS = ("none", "dynamic-int8", "static-int8")


@dataclass(frozen=True)
class ExportDescription:
    """The run an exported file was made from, and how."""

    spec: ModelSpec
    weights_sha256: str
    quantization: str = "none"

    def to_json(self) -> dict:
        pre = self.spec.preprocessing
        kind = "independent sigmoids" if self.spec.multilabel else "a softmax"
        return {
            "format": FORMAT,
            "model": self.spec.to_json(),
            "weights_sha256": self.weights_sha256,
            "quantization": self.quantization,
            "input": (
                f"{INPUT_NAME}: uint8 RGB, N x 3 x {pre.image_size} x {pre.image_size}: the image "
                f"with its shorter side resized to {pre.resize_size} px ({pre.interpolation}), "
                "centre-cropped; scaling and normalisation are inside the model"
            ),
            "outputs": (
                f"probabilities: N x {len(self.spec.classes)}, {kind} of logits / temperature "
                f"({self.spec.temperature:g}), in the order of model.classes; logits: the same "
                "before temperature"
            ),
        }

    def to_metadata(self) -> dict[str, str]:
        """As ONNX metadata_props: every value a string."""
        return {
            PREFIX + key: value if isinstance(value, str) else json.dumps(value)
            for key, value in self.to_json().items()
        }

    @classmethod
    def from_json(cls, path: Path, values: dict) -> ExportDescription:
        """What to_json wrote; anything else is an ExportError naming path."""
        if values.get("format") != FORMAT:
            raise ExportError(
                f"{path}: not a model exported by imclass (no imclass metadata of format "
                f"{FORMAT}); export one with `imclass export RUN_DIR`"
            )
        try:
            spec = ModelSpec.from_json(values["model"])
            quantization = values.get("quantization", "none")
            if quantization not in QUANTIZATIONS:
                raise ValueError(f"unknown quantization {quantization!r}")
            return cls(spec, str(values["weights_sha256"]), quantization)
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(f"{path}: damaged imclass metadata ({error})") from None

    @classmethod
    def from_metadata(cls, path: Path, metadata: dict[str, str]) -> ExportDescription:
        values = {k[len(PREFIX) :]: v for k, v in metadata.items() if k.startswith(PREFIX)}
        try:
            for key in ("format", "model"):
                if key in values:
                    values[key] = json.loads(values[key])
        except ValueError as error:
            raise ExportError(f"{path}: damaged imclass metadata ({error})") from None
        return cls.from_json(path, values)


def description_path(torchscript: Path) -> Path:
    """Where the description of a TorchScript file goes: beside it, its name plus .json."""
    return torchscript.with_name(torchscript.name + ".json")
