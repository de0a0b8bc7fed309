"""Every training setting, its default and why, in one frozen dataclass.

Defaults were chosen on the shared data sets (fridgeObjects, hymenoptera) on a 2-core CPU with
the default backbone; the README's "Training recipe" section gives the figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from imclass.data.presets import AUGMENT_PRESETS, check_augment
from imclass.errors import ConfigError, did_you_mean, invalid_parameter
from imclass.files import read_yaml_mapping
from imclass.models import DEFAULT_IMAGE_SIZE, DEFAULT_MODEL, MULTILABEL_MODEL, POOLINGS


def setting(default, help: str | None = None, *, choices: tuple | None = None, kind=None):
    """One training setting: its default, its help text and its allowed values, declared once.
    The CLI's `train` options and ImageClassifier's parameters are generated from these fields;
    kind is the value's type where the default (None) does not tell it."""
    metadata = {"help": help, "choices": choices, "kind": kind or type(default)}
    return field(default=default, metadata=metadata)


# The objectives evaluate/multilabel.py's threshold tuning knows (a test checks they agree).
THRESHOLD_OBJECTIVES = ("exact_match", "f1")


@dataclass(frozen=True)
class TrainConfig:
    """Resolved settings of one training run; written to the run's config.yaml."""

    model: str | None = setting(
        None,
        "any timm model name, or CNNs joined by '+' [default: "
        f"{DEFAULT_MODEL} at {DEFAULT_IMAGE_SIZE} px; multi-label: {MULTILABEL_MODEL}]",
        kind=str,
    )
    image_size: int | None = setting(
        None,
        f"input size [default: {DEFAULT_IMAGE_SIZE} for the default models, else the "
        "pretrained size]",
        kind=int,
    )
    pooling: str | None = setting(
        None,
        "single-label: how the feature map is pooled for the linear head, gem (generalised "
        "mean) or avg [default: gem for the offline backbones, else avg]",
        choices=POOLINGS,
        kind=str,
    )
    head_epochs: int = setting(
        30,
        "phase 1 on cached frozen features: a logistic-regression probe when > 0 "
        "(multi-label: this many epochs of the class-attention head)",
    )
    # phase 2; the last epoch is kept (see README "Training recipe")
    epochs: int = setting(5, "fine-tuning epochs of the whole network (phase 2)")
    batch_size: int = setting(32)
    head_lr: float = setting(3e-3, "multi-label phase 1: the head's AdamW learning rate")
    # Phase 2 starts from a probe that already fits: a gentle, equal rate keeps what it knows.
    # With the head at 1e-3 (body 1e-4) and label smoothing 0.1, held-out accuracy on a
    # fridgeObjects fold fell from 1.00 to 0.93 and the first epoch undid the probe.
    lr: float = setting(1e-4, "phase-2 learning rate of the head (AdamW, warm-up then cosine)")
    body_lr_ratio: float = setting(1.0, "phase 2: the body's learning rate relative to the head's")
    frozen_fraction: float = setting(
        0.5, "phase 2: the share of the backbone's earliest layer groups kept frozen"
    )
    # phase 2 ends with weights wise_alpha * fine-tuned + (1 - wise_alpha) * its start (the
    # probe on the pretrained body): WiSE-FT, Wortsman et al. 2022; 1.0 keeps the fine-tuned.
    # Held-out, fridgeObjects 5 folds / hymenoptera: 0.5 scored 0.985 / 0.974, 1.0 0.978 / 0.961
    wise_alpha: float = setting(
        0.5, "keep wise_alpha x fine-tuned + (1 - wise_alpha) x phase 2's start weights"
    )
    # Single-label phase 2 must earn its place: held-out, on fresh 75 / 25 fridgeObjects splits
    # (seeds 101-105) the probe scored 0.971 +- 0.032 and the probe fine-tuned 0.947 +- 0.034;
    # hymenoptera 0.980 against 0.974. A tie on validation keeps the probe, which is then
    # refitted on train + validation (Trainer.refits).
    finetune_must_win: bool = setting(
        True,
        "single-label: keep phase 2 only if its validation accuracy beats the probe's "
        "(not run when the probe is right on every validation image); otherwise the probe, "
        "refitted on train + validation, is the saved model",
    )
    weight_decay: float = setting(0.01, "AdamW weight decay")
    # calibration is the temperature's job (train/calibration.py)
    label_smoothing: float = setting(0.0, "label smoothing of the single-label loss")
    warmup_fraction: float = setting(
        0.1, "of each phase's steps, linear warm-up before the cosine decay"
    )
    augment: str = setting("photo", "augmentation preset", choices=AUGMENT_PRESETS)
    valid_fraction: float = setting(
        0.2, "share of the training images held out for validation when DATA has no valid split"
    )
    seed: int = setting(0)
    flip_tta: bool = setting(
        True, "predict on each image and its mirror image, where --augment flips"
    )
    refit: bool = setting(False, "after validation, train again on train + validation images")
    early_stopping: int = setting(
        0, "stop after N fine-tuning epochs without improvement (0: never)"
    )
    workers: int | None = setting(
        None, "image decoding processes [default: one per core beyond the first]", kind=int
    )
    threshold_objective: str = setting(
        "exact_match",
        "multi-label: what the thresholds tuned on validation maximise",
        choices=THRESHOLD_OBJECTIVES,
    )
    cache: bool | None = setting(
        None,
        "decode each image once and reuse it [default: on when images are > 2x the size "
        "training needs]",
        kind=bool,
    )
    device: str = setting("auto", "auto, cpu or cuda[:N]")

    def __post_init__(self) -> None:
        self._check_positive_ints()
        self._check_fractions()
        check_augment(self.augment)  # first: its message suggests the closest preset
        self._check_choices()
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise invalid_parameter("device", "train", "'auto', 'cpu' or 'cuda[:N]'", self.device)

    def _check_choices(self) -> None:
        """Every setting that declares its choices holds one of them (None: choose for me)."""
        for setting_field in fields(self):
            choices, value = setting_field.metadata["choices"], getattr(self, setting_field.name)
            if choices and value is not None and value not in choices:
                expected = " or ".join(map(repr, choices))
                raise invalid_parameter(setting_field.name, "train", expected, value)

    def _check_positive_ints(self) -> None:
        for name, low in (
            ("head_epochs", 0),
            ("epochs", 0),
            ("batch_size", 1),
            ("early_stopping", 0),
            ("seed", 0),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise invalid_parameter(name, "train", f"an int >= {low}", value)
        if self.image_size is not None and (
            not isinstance(self.image_size, int) or not 16 <= self.image_size <= 1024
        ):
            raise invalid_parameter("image_size", "train", "an int in [16, 1024]", self.image_size)
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 0):
            raise invalid_parameter("workers", "train", "an int >= 0", self.workers)
        if self.head_epochs + self.epochs == 0:
            raise invalid_parameter("epochs", "train", "> 0 when head_epochs is 0", self.epochs)

    def _check_fractions(self) -> None:
        for name, low, high, text in (
            ("head_lr", 0.0, 1.0, "a float in (0, 1]"),
            ("lr", 0.0, 1.0, "a float in (0, 1]"),
            ("body_lr_ratio", 0.0, 1.0, "a float in (0, 1]"),
            ("weight_decay", -1e-12, 1.0, "a float in [0, 1]"),
            ("label_smoothing", -1e-12, 0.5, "a float in [0, 0.5]"),
            ("warmup_fraction", -1e-12, 0.5, "a float in [0, 0.5]"),
            ("valid_fraction", 0.0, 0.9, "a float in (0, 0.9]"),
            ("frozen_fraction", -1e-12, 1.0, "a float in [0, 1]"),
            ("wise_alpha", -1e-12, 1.0, "a float in [0, 1]"),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (low < value <= high)
            ):
                raise invalid_parameter(name, "train", text, value)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"unknown training setting {name!r}.{did_you_mean(name, known)}")
        return cls(**values)


def parse_assignments(items, where: str = "--set") -> dict:
    """`NAME=VALUE` strings (experiments' --set, the benchmarks) as typed TrainConfig settings:
    each value converted to its setting's kind; an unknown name or a bad value is one line."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"{where} takes NAME=VALUE, like lr=5e-4. Got {item!r} instead.")
        values[name] = _typed(setting_kind(name), text.strip(), name)
    return values


def setting_kind(name: str, where: str = "") -> type:
    """The type of the setting called name; an unknown name is one line with a close match."""
    kinds = {f.name: f.metadata["kind"] for f in fields(TrainConfig)}
    if name not in kinds:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown training setting {name!r}.{did_you_mean(str(name), kinds)}"
        )
    return kinds[name]


def typed_setting(name: str, value, where: str = ""):
    """A value read from YAML as its setting's kind: YAML reads 1e-4 (no dot) as text and 1 as
    an int, where lr wants a float. Other mismatches are left for TrainConfig to refuse."""
    kind = setting_kind(name, where)
    if isinstance(value, str) and kind is not str:
        try:
            return _typed(kind, value.strip(), name)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}" if where else str(error)) from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def read_settings_file(path: Path | str) -> dict:
    """Training settings from YAML: a flat mapping of settings, or a run's config.yaml (its
    `train:` section), as `imclass train --config` and a sweep's best_config.yaml use them."""
    values = read_yaml_mapping(path, "training settings")
    if isinstance(values.get("train"), dict):
        values = values["train"]
    settings = {name: typed_setting(name, value, str(path)) for name, value in values.items()}
    try:
        TrainConfig(**settings)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return settings


def _typed(kind, text: str, name: str):
    """text as the setting's kind; none/null/"" is None only for a setting whose default is
    None (its automatic choice): `augment=none` is the preset called none."""
    automatic = {f.name for f in fields(TrainConfig) if f.default is None}
    if name in automatic and text.lower() in ("none", "null", ""):
        return None
    if kind is bool:
        if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise invalid_parameter(name, "train", "true or false", text)
        return text.lower() in ("1", "true", "yes", "on")
    try:
        return kind(text)
    except ValueError:
        raise invalid_parameter(name, "train", f"a {kind.__name__}", text) from None
