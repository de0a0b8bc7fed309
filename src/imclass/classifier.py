"""ImageClassifier: the whole recipe behind the scikit-learn estimator shape.

clf = ImageClassifier(epochs=5).fit("photos/")
clf.predict(["a.jpg", "b.jpg"])     -> ["cat", "dog"]
clf.predict_proba(["a.jpg"])        -> array of shape (1, n_classes), columns in classes_
clf.save("my-model");  ImageClassifier.load("my-model")
ImageClassifier().fit("labels.csv")  -> multi-label when an image has two labels; predict then
                                        gives a list of labels per image (tuned thresholds)
"""

from __future__ import annotations

import csv
import inspect
import os
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from imclass.data.dataset import LabelOptions
from imclass.errors import ConfigError, NotFittedError, did_you_mean
from imclass.inference.decisions import decide
from imclass.inference.predictor import Predictor
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter
from imclass.train.config import TrainConfig
from imclass.train.run import train_run

# What the estimator adds to TrainConfig's settings: where the run goes, and whether it talks.
ESTIMATOR_PARAMS = {"run_dir": None, "verbose": True}


def _signature() -> inspect.Signature:
    """__init__'s signature, generated from TrainConfig so each setting is declared once."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for field in fields(TrainConfig):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if field.name == "model" else keyword
        params.append(inspect.Parameter(field.name, kind, default=field.default))
    params += [inspect.Parameter(n, keyword, default=d) for n, d in ESTIMATOR_PARAMS.items()]
    return inspect.Signature(params)


SIGNATURE = _signature()


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tunes a pretrained timm backbone on a folder of images; parameters: TrainConfig's
    fields, plus run_dir and verbose. A scikit-learn estimator: clone, GridSearchCV, score."""

    def __init__(self, model: str | None = None, **params):
        # Stored as given (scikit-learn's rule); fit validates them through TrainConfig.
        names = list(SIGNATURE.parameters)[1:]
        unknown = set(params) - set(names)
        if unknown:
            raise self._unknown(sorted(unknown)[0], names)
        self.model = model
        for name in names[1:]:
            setattr(self, name, params.get(name, SIGNATURE.parameters[name].default))

    __init__.__signature__ = SIGNATURE

    @staticmethod
    def _unknown(name: str, names) -> ConfigError:
        return ConfigError(f"ImageClassifier has no parameter {name!r}.{did_you_mean(name, names)}")

    def set_params(self, **params) -> ImageClassifier:
        """Change parameters by name; returns self (scikit-learn's contract)."""
        names = self.get_params(deep=False)
        for name in params:
            if name not in names:
                raise self._unknown(name, names)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _train_config(self) -> TrainConfig:
        params = self.get_params(deep=False)
        for name in ESTIMATOR_PARAMS:
            params.pop(name)
        return TrainConfig(**params)

    def fit(
        self,
        data,
        y=None,
        *,
        multilabel: bool | None = None,
        label_delimiter: str | None = None,
        skip_missing: bool = False,
    ) -> ImageClassifier:
        """Train on a data set: a folder per class, a pre-split folder, or a label file
        (labels.csv, annotation TSV, Label Studio export, split file); or on image paths `data`
        with one label each in `y` (single-label; labels become class names as text)."""
        config = self._train_config()
        if y is None:
            options = LabelOptions(multilabel, label_delimiter, skip_missing)
            return self._fit_run(data, config, self.run_dir, options)
        with tempfile.TemporaryDirectory(prefix="imclass-") as scratch:
            labels, root = _write_label_file(data, y, Path(scratch))
            options = LabelOptions(False, None, skip_missing, root)
            run_dir = self.run_dir or Path(scratch) / "run"
            self._fit_run(labels, config, run_dir, options)
            if self.run_dir is None:  # the run lived in scratch; the model is in memory
                self.run_dir_ = None
        return self

    def _fit_run(self, data, config: TrainConfig, run_dir, options) -> ImageClassifier:
        reporter = Reporter(quiet=not self.verbose)
        result = train_run(data, config, run_dir, reporter, options)
        self.run_dir_ = result.run_dir
        self.metrics_ = result.metrics
        self._use(*RunDirectory(result.run_dir).load_model())
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
        spec = self.spec_
        decided = decide(probs, multilabel=spec.multilabel, thresholds=spec.decision_thresholds())
        return [
            None if np.isnan(row).any() else self._named(answer)
            for row, answer in zip(probs, decided, strict=True)
        ]

    def _named(self, answer):
        """decide's answer for one row in class names: one name, or a multi-label row's list."""
        if self.spec_.multilabel:
            return [name for name, on in zip(self.classes_, answer, strict=True) if on]
        return self.classes_[int(answer)]

    def score(self, paths, y, sample_weight=None) -> float:
        """Accuracy of predict(paths) against the labels y (compared as text)."""
        predicted = np.array([str(p) for p in self.predict(paths)])
        truth = np.array([str(label) for label in y])
        return float(np.average(predicted == truth, weights=sample_weight))

    def save(self, directory: str | Path) -> Path:
        """Write the weights and model.json (RunDirectory.write_model); load() needs nothing
        else."""
        self._check_fitted()
        RunDirectory(directory).write_model(self.network_, self.spec_)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, **params) -> ImageClassifier:
        network, spec = RunDirectory(directory).load_model()
        classifier = cls(
            model=spec.architecture, image_size=spec.preprocessing.image_size, **params
        )
        classifier.run_dir_ = Path(directory)
        classifier._use(network, spec)
        return classifier


def _write_label_file(paths, y, folder: Path) -> tuple[Path, Path]:
    """A path,label table of the given images in folder; returns it and the images' common
    root (the data root every listed image must be inside)."""
    paths = [Path(p).resolve() for p in paths]
    labels = [str(label) for label in y]
    if len(paths) != len(labels):
        raise ConfigError(f"fit: {len(paths)} images but {len(labels)} labels in y")
    table = folder / "labels.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["path", "label"], *zip(map(str, paths), labels, strict=True)]
        )
    root = Path(os.path.commonpath([p.parent for p in paths]))
    return table, root
