"""The run directory: every file a training run or an evaluation leaves, with its name, its
format, its reader and its atomic writer, in one class (RunDirectory).

model.json is the single source of preprocessing for evaluate, predict, export and serve.
The checkpoint is one safetensors file whose metadata carries the JSON part, so a kill at any
moment leaves either the previous complete state or the new one, never a mix; nothing in it
is pickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from imclass._version import __version__
from imclass.data.transforms import Preprocessing
from imclass.errors import RunDirError
from imclass.files import atomic_path, read_json, write_json, write_text
from imclass.models.heads import build_model

WEIGHTS_FILE = "model.safetensors"
SPEC_FILE = "model.json"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
REPORT_FILE = "report.html"
CHECKPOINT_FILE = "checkpoint.safetensors"  # while training; removed once the run has finished
SYSTEM_FILE = "system.csv"  # the machine while training (system/log.py: format, writer, reader)
# `imclass export` (inference/export.py writes them; predict's ONNX runtime reads model.onnx)
ONNX_FILE = "model.onnx"
QUANTIZED_ONNX_FILE = "model.int8.onnx"  # never model.onnx: the runtime wants the exact model
TORCHSCRIPT_FILE = "model.torchscript.pt"
FORMAT_VERSION = 1
HISTORY_COLUMNS = (
    "phase",
    "epoch",
    "train_loss",
    "train_accuracy",
    "valid_loss",
    "valid_accuracy",
    "lr",
    "seconds",
    "images_per_s",
    "data_wait_fraction",  # of the epoch's time, spent waiting for the loader's next batch
)


@dataclass(frozen=True)
class ModelSpec:
    """What a trained model is: architecture, class names in output order, preprocessing."""

    architecture: str
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    multilabel: bool = False
    thresholds: tuple[float, ...] | None = None  # multi-label: per class, on probabilities
    head: str = "avg"  # models/heads.py: "avg" timm's pooling and linear layer, "csra" multi-label
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
            "head": self.head,
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
            data.get("head", data.get("global_pool", "avg")),  # older files: global_pool
            float(data.get("temperature", 1.0)),
            bool(data.get("flip_tta", False)),
        )

    def decision_thresholds(self) -> tuple[float, ...]:
        """Multi-label thresholds on probabilities: tuned ones, else 0.5 for every class."""
        return self.thresholds or (0.5,) * len(self.classes)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read: JSON-able progress, and tensors under 'extra.', 'model.' and
    'optimizer.' prefixes."""

    state: dict
    tensors: dict[str, torch.Tensor]

    @property
    def extra(self) -> dict[str, torch.Tensor]:
        """The extra arrays given to write_checkpoint, by their own names."""
        return _with_prefix(self.tensors, "extra.")

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        """Put the saved model (and optimizer, when it was saved) state back."""
        model.load_state_dict(_with_prefix(self.tensors, "model."))
        if optimizer is not None and "optimizer" in self.state:
            optimizer.load_state_dict(_join_optimizer(self.state["optimizer"], self.tensors))


@dataclass(frozen=True)
class Predictions:
    """predictions.csv as read: row i is one scored image. Labels are text as written (a
    multi-label row joins its labels with spaces); probs holds every class's probability."""

    paths: tuple[str, ...]
    labels: tuple[str, ...]
    predicted: tuple[str, ...]
    probs: np.ndarray  # (N, C) float64
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def label_indices(self) -> np.ndarray:
        """(N,) the class index of each row's label (single-label)."""
        index = self._index()
        return np.array([index[label] for label in self.labels], dtype=int)

    def label_matrix(self) -> np.ndarray:
        """(N, C) bool: row i marks the labels of image i (multi-label)."""
        index = self._index()
        matrix = np.zeros(self.probs.shape, dtype=bool)
        for row, labels in enumerate(self.labels):
            matrix[row, [index[label] for label in labels.split()]] = True
        return matrix

    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}


def _file(name: str) -> property:
    return property(lambda self: self.path / name, doc=f"the run's {name}")


class RunDirectory:
    """One run's folder. RunDirectory(path).metrics_path, .write_metrics(...), .read_history():
    nothing else knows a file name or format. Evaluate may write into another folder (--out):
    a RunDirectory of that folder holds its figures."""

    # what an evaluation writes, into the run directory or into its --out folder
    EVALUATION_FILES = (METRICS_FILE, PREDICTIONS_FILE, REPORT_FILE)

    weights_path = _file(WEIGHTS_FILE)
    spec_path = _file(SPEC_FILE)
    config_path = _file(CONFIG_FILE)
    history_path = _file(HISTORY_FILE)
    metrics_path = _file(METRICS_FILE)
    predictions_path = _file(PREDICTIONS_FILE)
    report_path = _file(REPORT_FILE)  # the HTML itself is built by evaluate/report.py
    checkpoint_path = _file(CHECKPOINT_FILE)
    system_path = _file(SYSTEM_FILE)
    onnx_path = _file(ONNX_FILE)
    quantized_onnx_path = _file(QUANTIZED_ONNX_FILE)
    torchscript_path = _file(TORCHSCRIPT_FILE)

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @property
    def inputs(self) -> list[Path]:
        """The files a trained run is read from by evaluate: never an output."""
        return [self.spec_path, self.weights_path, self.history_path]

    def write_model(self, model: nn.Module, spec: ModelSpec) -> None:
        """The weights then model.json, each atomically."""
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        with atomic_path(self.weights_path) as temporary:
            save_file(tensors, str(temporary))
        self.write_spec(spec)

    def write_spec(self, spec: ModelSpec) -> None:
        write_json(self.spec_path, spec.to_json())

    def read_spec(self) -> ModelSpec:
        path = self.spec_path
        if not path.is_file():
            raise RunDirError(f"{self.path}: not a run directory ({SPEC_FILE} is missing)")
        try:
            return ModelSpec.from_json(read_json(path))
        except (ValueError, KeyError, TypeError) as error:
            raise RunDirError(f"{path}: unreadable model description ({error})") from None

    def load_model(self) -> tuple[nn.Module, ModelSpec]:
        """Rebuild the trained model from the run directory alone, in eval mode on the CPU."""
        spec = self.read_spec()
        path = self.weights_path
        if not path.is_file():
            raise RunDirError(f"{self.path}: {WEIGHTS_FILE} is missing")
        # the random initialisation is overwritten: drawn from a fork, it leaves the caller's
        # random stream as it was
        with torch.random.fork_rng(devices=[]):
            model = build_model(spec.architecture, len(spec.classes), spec.head, pretrained=False)
        try:
            model.load_state_dict(load_file(str(path)))
        except (SafetensorError, RuntimeError, OSError) as error:
            raise RunDirError(f"{path}: weights do not fit {spec.architecture} ({error})") from None
        return model.eval(), spec

    def weights_digest(self) -> str:
        """The sha256 of the weights file: an export records it, so a stale export is known."""
        path = self.weights_path
        if not path.is_file():
            raise RunDirError(f"{self.path}: {WEIGHTS_FILE} is missing")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()

    def write_config(self, resolved: dict) -> None:
        """The resolved settings of the run, as YAML in the order given."""
        write_text(self.config_path, yaml.safe_dump(resolved, sort_keys=False))

    def read_config(self) -> dict:
        path = self.config_path
        if not path.is_file():
            raise RunDirError(f"{self.path}: not a run directory ({CONFIG_FILE} is missing)")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise RunDirError(f"{path}: unreadable ({error})") from None
        if not isinstance(values, dict):
            raise RunDirError(f"{path}: unreadable (not a mapping of settings)")
        return values

    def write_history(self, rows: list[dict]) -> None:
        """One row per epoch (HISTORY_COLUMNS), rewritten whole so a kill loses nothing."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
        write_text(self.history_path, buffer.getvalue())

    def read_history(self) -> list[dict]:
        """The history's rows with numbers as numbers; [] when there is none. A column an
        older imclass did not write (data_wait_fraction) reads as NaN."""
        if not self.history_path.is_file():
            return []
        with self.history_path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [
            {
                k: (v if k == "phase" else int(v) if k == "epoch" else float(v))
                for k, v in {**dict.fromkeys(HISTORY_COLUMNS, "nan"), **row}.items()
            }
            for row in rows
        ]

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.metrics_path, metrics)

    def read_metrics(self) -> dict:
        return read_json(self.metrics_path)

    def write_predictions(
        self, paths, true: list[str], predicted: list[str], probs, classes
    ) -> None:
        """One row per scored image: path, true label(s), predicted label(s) (already decided,
        as text), then every class's probability."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["path", "label", "predicted", *(f"p_{c}" for c in classes)])
        for row in zip(paths, true, predicted, probs, strict=True):
            writer.writerow([str(row[0]), row[1], row[2], *(f"{p:.6f}" for p in row[3])])
        write_text(self.predictions_path, buffer.getvalue())

    def read_predictions(self) -> Predictions:
        """What write_predictions wrote; a missing or damaged file is a RunDirError."""
        path = self.predictions_path
        if not path.is_file():
            raise RunDirError(f"{self.path}: no predictions ({PREDICTIONS_FILE} is missing)")
        try:
            with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
                table = list(csv.reader(handle))
            if not table:
                raise ValueError("an empty file")
            return _predictions(table[0], table[1:])
        except (ValueError, KeyError) as error:
            raise RunDirError(f"{path}: unreadable predictions ({error})") from None

    def write_checkpoint(
        self,
        state: dict,
        tensors: dict[str, torch.Tensor],
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None,
    ) -> None:
        """state: JSON-able progress; tensors: extra arrays; model and optimizer: their full
        state."""
        everything = {f"extra.{k}": v for k, v in tensors.items()}
        everything.update({f"model.{k}": v for k, v in model.state_dict().items()})
        meta = dict(state)
        if optimizer is not None:
            optimizer_tensors, meta["optimizer"] = _split_optimizer(optimizer.state_dict())
            everything.update(optimizer_tensors)
        everything = {k: v.detach().to("cpu").contiguous() for k, v in everything.items()}
        with atomic_path(self.checkpoint_path) as temporary:
            save_file(everything, str(temporary), metadata={"state": json.dumps(meta)})

    def read_checkpoint(self) -> Checkpoint:
        path = self.checkpoint_path
        if not path.is_file():
            raise RunDirError(
                f"{self.path}: nothing to resume "
                f"({CHECKPOINT_FILE} is missing; a finished run has none)"
            )
        try:
            with safe_open(str(path), framework="pt") as handle:
                state = json.loads(handle.metadata()["state"])
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
        except Exception as error:  # noqa: BLE001 - any corruption is one clear message
            raise RunDirError(f"{path}: unreadable checkpoint ({error})") from None
        return Checkpoint(state, tensors)

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def remove_checkpoint(self) -> None:
        self.checkpoint_path.unlink(missing_ok=True)


def system_log_beside(output: Path | str) -> Path:
    """Where predict's samples of the machine go when it writes to a file: beside it, named
    after it (predictions.csv -> predictions.system.csv), so shards never share one."""
    output = Path(output)
    return output.with_name(f"{output.stem}.{SYSTEM_FILE}")


def _predictions(header: list[str], rows: list[list[str]]) -> Predictions:
    if header[:3] != ["path", "label", "predicted"] or not all(
        name.startswith("p_") for name in header[3:]
    ):
        raise ValueError(f"the header {header[:4]} is not path, label, predicted, p_<class>...")
    classes = tuple(name[2:] for name in header[3:])
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"a row without {len(header)} fields")
    known = set(classes)
    # a class name may hold a space; a multi-label row joins its labels with spaces
    unknown = sorted(
        row[1] for row in rows if row[1] not in known and not set(row[1].split()) <= known
    )
    if unknown:
        raise ValueError(f"label(s) {', '.join(map(repr, unknown[:3]))} are not among the classes")
    probs = np.array([[float(p) for p in row[3:]] for row in rows], dtype=np.float64)
    return Predictions(
        tuple(row[0] for row in rows),
        tuple(row[1] for row in rows),
        tuple(row[2] for row in rows),
        probs.reshape(len(rows), len(classes)),
        classes,
    )


def _with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _split_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for param_id, values in state_dict["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{param_id}.{name}"] = value
            else:
                scalars[f"{param_id}.{name}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(meta: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict] = {}
    for key, value in _with_prefix(tensors, "optimizer.").items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    for key, value in meta["scalars"].items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}
