"""Looking back at runs: a list of run directories with their headline figures, and what one
run's predictions.csv holds for a results page (the images of a confusion-matrix cell; for
multi-label runs, each label's counts at any thresholds and the images behind each count).

Every run is read through RunDirectory; a damaged file makes a run's summary carry an error,
never the list fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from imclass.errors import ConfigError, ImclassError, did_you_mean, invalid_parameter
from imclass.evaluate.multilabel import label_counts
from imclass.inference.decisions import HALF, decide
from imclass.inference.predictor import above_thresholds, top_k
from imclass.models.run_dir import Predictions, RunDirectory

# The figures a list of runs shows, from metrics.json, by whether the run is multi-label.
HEADLINE = {
    False: ("accuracy", "balanced_accuracy", "macro_f1", "log_loss"),
    True: ("exact_match", "micro_f1", "macro_f1", "mAP"),
}
OUTCOMES = ("tp", "fp", "fn", "tn")  # a label predicted or not, against marked or not
TOP = 3  # probabilities shown beside each image


@dataclass(frozen=True)
class RunSummary:
    """One run as a list shows it; None where its files do not say. error: why a file of the
    run could not be read (the run is listed all the same)."""

    name: str
    path: Path
    model: str | None = None
    data: str | None = None  # what it was trained on, from config.yaml
    date: datetime | None = None  # when model.json was written (UTC)
    image_size: int | None = None
    multilabel: bool | None = None
    classes: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)  # HEADLINE figures, as found
    n_images: int | None = None  # the images the metrics were computed on
    error: str | None = None


@dataclass(frozen=True)
class ScoredImage:
    """One image of predictions.csv: its label(s), the model's decision, the TOP most probable
    classes with their probabilities."""

    path: str
    label: str
    predicted: str
    top: list[tuple[str, float]]


def list_runs(sources: Path | str | Iterable[Path | str]) -> list[RunSummary]:
    """Each source is a run directory (it holds model.json) or a folder of them (its
    subfolders holding model.json, by name); each run once, in that order."""
    summaries, seen = [], set()
    for folder in _run_folders(sources):
        key = os.path.realpath(folder)
        if key not in seen:
            seen.add(key)
            summaries.append(summarize_run(folder))
    return summaries


def _run_folders(sources) -> Iterator[Path]:
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    for source in map(Path, sources):
        if RunDirectory(source).spec_path.is_file() or not source.is_dir():
            yield source  # a run, or something that is not: its summary says so
            continue
        try:
            yield from sorted(p for p in source.iterdir() if RunDirectory(p).spec_path.is_file())
        except OSError:
            yield source  # a folder that cannot be listed: its summary says why


def summarize_run(path: Path | str) -> RunSummary:
    """What list_runs shows of one run directory; never raises for a missing or damaged file."""
    run, problems = RunDirectory(path), []
    fields: dict = {}
    spec = _attempt(problems, run.read_spec)
    if spec is not None:
        fields |= {
            "model": spec.architecture,
            "image_size": spec.preprocessing.image_size,
            "multilabel": spec.multilabel,
            "classes": spec.classes,
            "date": _attempt(problems, lambda: _modified(run.spec_path)),
        }
    if run.config_path.is_file():
        config = _attempt(problems, run.read_config)
        fields["data"] = str(config["data"]) if config and "data" in config else None
    if run.metrics_path.exists():
        fields |= _attempt(problems, lambda: _headline(run, fields.get("multilabel"))) or {}
    error = "; ".join(problems) or None
    return RunSummary(name=run.path.name, path=run.path, error=error, **fields)


def _attempt(problems: list[str], read):
    """read(), or None with the reason added to problems."""
    try:
        return read()
    except (ImclassError, OSError, ValueError, TypeError, KeyError) as error:
        problems.append(str(error) if isinstance(error, ImclassError) else _reason(error))
        return None


def _reason(error: Exception) -> str:
    path = getattr(error, "filename", None)
    return f"{path}: {error.strerror}" if path and error.strerror else f"unreadable ({error})"


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _headline(run: RunDirectory, multilabel: bool | None) -> dict:
    try:
        metrics = run.read_metrics()
    except ValueError as error:
        raise ValueError(f"{run.metrics_path}: unreadable ({error})") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{run.metrics_path}: unreadable (not a mapping of figures)")
    multilabel = bool(metrics.get("multilabel", multilabel))
    numbers = {
        name: float(metrics[name])
        for name in HEADLINE[multilabel]
        if isinstance(metrics.get(name), int | float) and not isinstance(metrics[name], bool)
    }
    n_images = metrics.get("n_images")
    return {"metrics": numbers, "n_images": n_images if isinstance(n_images, int) else None}


def run_is_multilabel(run: RunDirectory) -> bool:
    """What model.json says; for an evaluation folder (no model.json), what metrics.json says."""
    if run.spec_path.is_file():
        return run.read_spec().multilabel
    try:
        return bool(run.read_metrics().get("multilabel", False))
    except (OSError, ValueError, AttributeError):
        raise ConfigError(
            f"{run.path}: neither model.json nor a readable metrics.json says whether its "
            "predictions are multi-label"
        ) from None


def confusion_cell(
    run_dir: Path | str | RunDirectory,
    true_class: str,
    predicted_class: str,
    *,
    predictions: Predictions | None = None,
) -> list[ScoredImage]:
    """The images of one cell of a single-label run's confusion matrix, the most confidently
    predicted first. predictions: the run's, when the caller has read them already."""
    run, predictions = _read(run_dir, predictions)
    if run_is_multilabel(run):
        raise ConfigError(
            f"{run.path}: a multi-label run has no confusion matrix; use label_cell per label"
        )
    _check_class("true_class", "confusion_cell", true_class, predictions.classes)
    _check_class("predicted_class", "confusion_cell", predicted_class, predictions.classes)
    chosen = predictions.classes.index(predicted_class)
    rows = [
        row
        for row in range(len(predictions))
        if predictions.labels[row] == true_class and predictions.predicted[row] == predicted_class
    ]
    rows.sort(key=lambda row: -predictions.probs[row, chosen])
    return _scored(predictions, rows, [predictions.predicted[row] for row in rows])


def counts_at_thresholds(
    run_dir: Path | str | RunDirectory, thresholds=None, *, predictions: Predictions | None = None
) -> dict[str, dict]:
    """A multi-label run's tp, fp, fn, tn (and precision, recall, F1) per label, deciding at
    thresholds: one per label, one for all, or None for the run's own."""
    run, predictions = _read(run_dir, predictions)
    thresholds = _thresholds(run, predictions, thresholds, "counts_at_thresholds")
    decided = decide(predictions.probs, multilabel=True, thresholds=thresholds)
    marked = predictions.label_matrix()
    return {
        name: label_counts(marked[:, c], decided[:, c])
        for c, name in enumerate(predictions.classes)
    }


def label_cell(
    run_dir: Path | str | RunDirectory,
    label: str,
    outcome: str,
    thresholds=None,
    *,
    predictions: Predictions | None = None,
) -> list[ScoredImage]:
    """The images behind one of counts_at_thresholds' counts (outcome: tp, fp, fn or tn), the
    label's most probable first; predicted are the labels on at those thresholds."""
    run, predictions = _read(run_dir, predictions)
    _check_class("label", "label_cell", label, predictions.classes)
    if outcome not in OUTCOMES:
        raise invalid_parameter("outcome", "label_cell", f"one of {OUTCOMES}", outcome)
    thresholds = _thresholds(run, predictions, thresholds, "label_cell")
    c = predictions.classes.index(label)
    on = decide(predictions.probs, multilabel=True, thresholds=thresholds)[:, c]
    marked = predictions.label_matrix()[:, c]
    wanted = {"tp": on & marked, "fp": on & ~marked, "fn": ~on & marked, "tn": ~on & ~marked}
    rows = sorted(np.flatnonzero(wanted[outcome]), key=lambda row: -predictions.probs[row, c])
    chosen = above_thresholds(predictions.probs[rows], predictions.classes, thresholds)
    return _scored(predictions, rows, [" ".join(name for name, _ in row) for row in chosen])


def _read(
    run_dir: Path | str | RunDirectory, predictions: Predictions | None = None
) -> tuple[RunDirectory, Predictions]:
    """The run and its predictions.csv: read now unless the caller passes them (the app keeps
    them while the file is unchanged, so a threshold slider does not re-read it each move)."""
    run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    return run, predictions if predictions is not None else run.read_predictions()


def _scored(predictions: Predictions, rows, predicted: list[str]) -> list[ScoredImage]:
    ranked = top_k(predictions.probs[list(rows)], predictions.classes, TOP) if rows else []
    return [
        ScoredImage(predictions.paths[row], predictions.labels[row], decision, best)
        for row, decision, best in zip(rows, predicted, ranked, strict=True)
    ]


def _check_class(parameter: str, where: str, name: str, classes) -> None:
    if name not in classes:
        error = invalid_parameter(parameter, where, f"one of the run's classes {classes}", name)
        raise ConfigError(f"{error}{did_you_mean(name, classes)}")


def _thresholds(run: RunDirectory, predictions: Predictions, thresholds, where: str):
    """thresholds as given (one number for every label, or one per label, each in [0, 1]),
    else the run's own: model.json's, else those its metrics.json was computed at, else HALF."""
    if thresholds is None:
        thresholds = own_thresholds(run)
    count = len(predictions.classes)
    try:
        values = np.broadcast_to(np.asarray(thresholds, dtype=float), (count,))
    except (ValueError, TypeError):
        values = np.array([np.nan])
    if not np.all((values >= 0) & (values <= 1)):
        expected = f"a number or {count} numbers in [0, 1]"
        raise invalid_parameter("thresholds", where, expected, thresholds)
    return values


def own_thresholds(run: RunDirectory):
    if run.spec_path.is_file():
        return run.read_spec().decision_thresholds()
    try:
        return run.read_metrics()["thresholds"]
    except (OSError, ValueError, KeyError, TypeError):
        return HALF
