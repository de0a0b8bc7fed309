"""ImageClassifier: the whole recipe behind the scikit-learn estimator shape.

clf = ImageClassifier(epochs=5).fit("photos/")
clf.predict(["a.jpg", "b.jpg"])     -> ["cat", "dog"]
clf.predict_proba(["a.jpg"])        -> array of shape (1, n_classes), columns in classes_
clf.save("my-model");  ImageClassifier.load("my-model")
ImageClassifier().fit("labels.csv")  -> multi-label when an image has two labels; predict then
                                        gives a list of labels per image (tuned thresholds)
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from imclass.data.dataset import LabelOptions
from imclass.errors import NotFittedError
from imclass.models.run_dir import load_model, save_model
from imclass.predict.predictor import Predictor
from imclass.progress import Reporter
from imclass.train.config import TrainConfig
from imclass.train.run import train_run


class ImageClassifier:
    """Fine-tunes a pretrained timm backbone on a folder of images (see TrainConfig)."""

    def __init__(
        self,
        model: str | None = None,
        *,
        epochs: int = TrainConfig.epochs,
        head_epochs: int = TrainConfig.head_epochs,
        batch_size: int = TrainConfig.batch_size,
        image_size: int | None = None,
        lr: float = TrainConfig.lr,
        augment: str = TrainConfig.augment,
        valid_fraction: float = TrainConfig.valid_fraction,
        seed: int = 0,
        early_stopping: int = 0,
        device: str = "auto",
        workers: int | None = None,
        cache: bool | None = None,
        threshold_objective: str = TrainConfig.threshold_objective,
        run_dir: str | Path | None = None,
        verbose: bool = True,
    ):
        self.model = model
        self.epochs = epochs
        self.head_epochs = head_epochs
        self.batch_size = batch_size
        self.image_size = image_size
        self.lr = lr
        self.augment = augment
        self.valid_fraction = valid_fraction
        self.seed = seed
        self.early_stopping = early_stopping
        self.device = device
        self.workers = workers
        self.cache = cache
        self.threshold_objective = threshold_objective
        self.run_dir = run_dir
        self.verbose = verbose

    def get_params(self) -> dict:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def _train_config(self) -> TrainConfig:
        params = self.get_params()
        for name in ("run_dir", "verbose"):
            params.pop(name)
        return TrainConfig(**params)

    def fit(
        self,
        data: str | Path,
        *,
        multilabel: bool | None = None,
        label_delimiter: str | None = None,
        skip_missing: bool = False,
    ) -> ImageClassifier:
        """Train on a data set: a folder per class, a pre-split folder, or a label file
        (labels.csv, annotation TSV, Label Studio export, split file)."""
        options = LabelOptions(multilabel, label_delimiter, skip_missing)
        result = train_run(
            data, self._train_config(), self.run_dir, Reporter(quiet=not self.verbose), options
        )
        self.run_dir_ = result.run_dir
        self.metrics_ = result.metrics
        self._use(*load_model(result.run_dir))
        return self

    def _use(self, network, spec) -> None:
        self.network_, self.spec_ = network, spec
        self.classes_ = list(spec.classes)
        self._predictor = Predictor(network, spec, device=self.device, workers=self.workers)

    def _check_fitted(self) -> Predictor:
        if not hasattr(self, "_predictor"):
            raise NotFittedError(
                "This ImageClassifier is not fitted yet: "
                "call fit(data) or ImageClassifier.load(dir)."
            )
        return self._predictor

    def predict_proba(self, paths) -> np.ndarray:
        """Probabilities, one row per path in order; an unreadable file's row is NaN."""
        predictor = self._check_fitted()
        paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        result = predictor.probabilities(paths, Reporter(quiet=not self.verbose))
        return result.probs.astype(np.float64)

    def predict(self, paths) -> list:
        """The most probable class per path, or for a multi-label model the list of labels at or
        above their thresholds; None for an unreadable file."""
        probs = self.predict_proba(paths)
        if self.spec_.multilabel:
            chosen = probs >= np.asarray(self.spec_.decision_thresholds())
            return [
                None
                if np.isnan(row).any()
                else [c for c, keep in zip(self.classes_, picks, strict=True) if keep]
                for row, picks in zip(probs, chosen, strict=True)
            ]
        return [None if np.isnan(row).any() else self.classes_[int(row.argmax())] for row in probs]

    def save(self, directory: str | Path) -> Path:
        """Write model.safetensors and model.json; load() needs nothing else."""
        self._check_fitted()
        save_model(Path(directory), self.network_, self.spec_)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, **params) -> ImageClassifier:
        network, spec = load_model(directory)
        classifier = cls(
            model=spec.architecture, image_size=spec.preprocessing.image_size, **params
        )
        classifier.run_dir_ = Path(directory)
        classifier._use(network, spec)
        return classifier
