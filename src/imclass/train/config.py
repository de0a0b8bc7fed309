"""Every training setting, its default and why, in one frozen dataclass.

Defaults were chosen on the shared data sets (fridgeObjects, hymenoptera) on a 2-core CPU with
tf_efficientnet_lite0; the README's "Training recipe" section gives the figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from imclass.data.presets import check_augment
from imclass.errors import ConfigError, did_you_mean, invalid_parameter


@dataclass(frozen=True)
class TrainConfig:
    """Resolved settings of one training run; written to the run's config.yaml."""

    model: str | None = None  # None: DEFAULT_MODEL (models/__init__.py)
    image_size: int | None = None  # None: 320 for DEFAULT_MODEL, else the pretrained size
    head_epochs: int = 30  # phase 1: > 0 fits the probe; multi-label, AdamW epochs of the head
    epochs: int = 5  # phase 2; the last epoch is kept (see README "Training recipe")
    batch_size: int = 32
    head_lr: float = 3e-3  # phase 1 AdamW
    # Phase 2 starts from a probe that already fits: a gentle, equal rate keeps what it knows.
    # With the head at 1e-3 (body 1e-4) and label smoothing 0.1, held-out accuracy on a
    # fridgeObjects fold fell from 1.00 to 0.93 and the first epoch undid the probe.
    lr: float = 1e-4  # phase 2, the head's rate
    body_lr_ratio: float = 1.0  # phase 2, the body's rate relative to the head's
    frozen_fraction: float = 0.5  # phase 2: the earliest layer groups that stay frozen
    # phase 2 ends with weights wise_alpha * fine-tuned + (1 - wise_alpha) * its start (the
    # probe on the pretrained body): WiSE-FT, Wortsman et al. 2022; 1.0 keeps the fine-tuned.
    # Held-out, fridgeObjects 5 folds / hymenoptera: 0.5 scored 0.985 / 0.974, 1.0 0.978 / 0.961
    wise_alpha: float = 0.5
    weight_decay: float = 0.01
    label_smoothing: float = 0.0  # calibration is the temperature's job (train/calibration.py)
    warmup_fraction: float = 0.1  # of each phase's steps, linear warm-up before cosine decay
    augment: str = "photo"
    valid_fraction: float = 0.2
    seed: int = 0
    flip_tta: bool = True  # predict on image and mirror image, where `augment` flips
    refit: bool = False  # after validation, train again on train + valid with the same schedule
    early_stopping: int = 0  # phase-2 epochs without improvement before stopping; 0: never
    workers: int | None = None  # decoding processes; None: one per core beyond the first
    threshold_objective: str = "exact_match"  # multi-label: what tuned thresholds maximise
    cache: bool | None = None  # decode cache; None: on when images are > 2x the size needed
    device: str = "auto"

    def __post_init__(self) -> None:
        self._check_positive_ints()
        self._check_fractions()
        check_augment(self.augment)
        if self.threshold_objective not in ("exact_match", "f1"):
            raise invalid_parameter(
                "threshold_objective", "train", "'exact_match' or 'f1'", self.threshold_objective
            )
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise invalid_parameter("device", "train", "'auto', 'cpu' or 'cuda[:N]'", self.device)

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
