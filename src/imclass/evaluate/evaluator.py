"""Scoring a trained run on labelled images: metrics, predictions and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imclass.data.dataset import (
    DataSource,
    ImageSet,
    LabelOptions,
    label_ids,
    multi_hot,
    open_data,
)
from imclass.errors import DataError
from imclass.evaluate.metrics import (
    classification_metrics,
    expected_calibration_error,
    undo_temperature,
)
from imclass.evaluate.multilabel import multilabel_metrics
from imclass.evaluate.report import write_report
from imclass.inference.decisions import decide
from imclass.inference.predictor import Predictor
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter
from imclass.system.log import read_system_log


def write_predictions(out: RunDirectory, labels, probs, paths, classes, thresholds=None) -> None:
    """The predictions file of out: per image its true and predicted label(s), and every
    probability. Multi-label rows join labels with spaces; predicted are those at or above
    their threshold."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if thresholds is None:
        true = [classes[int(i)] for i in labels]
        predicted = [classes[int(i)] for i in decide(probs, multilabel=False)] if len(probs) else []
    else:
        true = _joined(classes, labels)
        predicted = _joined(classes, decide(probs, multilabel=True, thresholds=thresholds))
    out.write_predictions(paths, true, predicted, probs, classes)


def _joined(classes, rows) -> list[str]:
    return [" ".join(c for c, on in zip(classes, row, strict=True) if on) for row in rows]


def write_evaluation(
    out: RunDirectory,
    title: str,
    labels,
    probs,
    paths,
    classes,
    history: list[dict],
    thresholds=None,
    temperature: float = 1.0,
    *,
    system: Sequence[dict] = (),
) -> dict:
    """Compute the metrics and write them, the predictions and the report into out.

    Single-label: labels (N,) ints. Multi-label: labels (N, C) 0/1 and thresholds per class.
    probs are calibrated by temperature; the calibration error without it is reported too.
    system: the training's samples of the machine (system.csv), plotted when there are any."""
    if thresholds is not None:
        metrics = multilabel_metrics(labels, probs, classes, thresholds)
    else:
        metrics = classification_metrics(labels, probs, classes)
        unscaled = undo_temperature(np.asarray(probs, dtype=np.float64), temperature)
        metrics["temperature"] = temperature
        metrics["expected_calibration_error_unscaled"] = expected_calibration_error(
            np.asarray(labels, dtype=int), unscaled
        )
    out.write_metrics(metrics)
    write_predictions(out, labels, probs, paths, classes, thresholds)
    write_report(out.report_path, title, metrics, labels, probs, paths, history, system)
    return metrics


def scored_images(source: DataSource) -> ImageSet:
    """A folder is scored whole; a split file by its test rows, else valid rows, else all."""
    for split in ("test", "valid"):
        if source.root.is_file() and split in source.splits:
            return source.splits[split]
    return source.all_images()


def evaluate_run(
    run_dir: Path | str,
    data: Path | str,
    out_dir: Path | str | None = None,
    reporter: Reporter | None = None,
    options: LabelOptions | None = None,
    *,
    runtime: str = "torch",
) -> dict:
    """Score the run's model on DATA; writes into out_dir (default: the run directory).
    runtime: "torch", "onnx" or "auto" (inference/runtime.py)."""
    run_dir = Path(run_dir)
    run = RunDirectory(run_dir)
    predictor = Predictor.from_run_dir(run_dir, runtime=runtime, reporter=reporter)
    spec = predictor.spec
    source = open_data(data, options)
    if source.multilabel and not spec.multilabel:
        raise DataError(f"{data}: multi-label data, but {run_dir} is a single-label model")
    images = _in_model_classes(scored_images(source), source.classes, spec.classes)
    result = predictor.probabilities(list(images.paths), reporter)
    read = images.subset(result.readable)
    probs, paths, labels = result.probs[result.readable], list(read.paths), list(read.labels)
    thresholds = None
    if spec.multilabel:
        labels = multi_hot(labels, len(spec.classes)).astype(int)
        thresholds = spec.decision_thresholds()
    out = RunDirectory(out_dir) if out_dir else run
    title = f"imclass evaluation: {run_dir.name} on {source.name}"
    return write_evaluation(
        out,
        title,
        labels,
        probs,
        paths,
        spec.classes,
        run.read_history(),
        thresholds,
        spec.temperature,
        system=read_system_log(run.system_path),
    )


def _in_model_classes(images: ImageSet, data_classes, model_classes) -> ImageSet:
    """Relabel data-set class indices (ints, or tuples for multi-label) into the model's order."""
    used = {data_classes[i] for label in images.labels for i in label_ids(label)}
    unknown = sorted(used - set(model_classes))
    if unknown:
        raise DataError(
            f"class(es) {', '.join(map(repr, unknown))} are not among the model's "
            f"classes ({', '.join(model_classes)})"
        )
    index = {name: i for i, name in enumerate(model_classes)}

    def relabel(label):
        if isinstance(label, tuple):
            return tuple(sorted(index[data_classes[i]] for i in label))
        return index[data_classes[label]]

    return ImageSet(images.paths, tuple(relabel(label) for label in images.labels))
