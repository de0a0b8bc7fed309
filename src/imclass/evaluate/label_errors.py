"""Label-error candidates by confident learning (Northcutt, Jiang and Chuang, "Confident
Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021): images the model confidently
puts in another class than their label.

Class j's threshold t_j is the mean probability of j over the images labelled j: how sure the
model is, on average, of images that really are j. An image is confidently in j when p_j >= t_j;
of the classes it is confidently in, it is assigned the most probable. An image labelled i that
is assigned some j != i is a candidate. A class with no image labelled with it has no threshold
and is never suggested.

The probabilities must be out-of-sample: on images the model was trained on it has learnt the
given labels, wrong ones included, and finds few errors. A run directory's predictions.csv
holds the validation split's, from a model never trained on them (chosen and calibrated on them,
which makes it no less out of sample for its weights; with refit they are the first pass's);
`imclass evaluate` on held-out images writes out-of-sample ones too. On the training images
themselves it would not be.

Multi-label: each label is its own two-class problem (present, absent), one-vs-rest as cleanlab
does it: a label marked present whose probability the model confidently puts with the absent
ones, or marked absent and confidently present, is a candidate; one row per (image, label).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imclass.errors import invalid_parameter
from imclass.evaluate.runs import run_is_multilabel
from imclass.inference.decisions import decide
from imclass.models.run_dir import Predictions, RunDirectory

RANKINGS = ("margin", "self_confidence")


@dataclass(frozen=True)
class LabelErrorCandidate:
    """One image whose label the model doubts. Multi-label: given and suggested are label sets
    as predictions.csv writes them (joined with spaces), differing in `label` alone, and the
    probabilities are those of the label's suggested and given state (present or absent)."""

    path: str
    given: str
    suggested: str
    suggested_probability: float
    given_probability: float
    label: str | None = None  # multi-label: the label that is doubted

    @property
    def margin(self) -> float:
        return self.suggested_probability - self.given_probability


def class_thresholds(labels, probs) -> np.ndarray:
    """(C,) t_j: the mean probability of class j over the images labelled j; inf for a class
    no image is labelled with."""
    labels, probs = np.asarray(labels, dtype=int), np.asarray(probs, dtype=np.float64)
    classes = probs.shape[1]
    counts = np.bincount(labels, minlength=classes)
    sums = np.bincount(labels, weights=probs[np.arange(len(labels)), labels], minlength=classes)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)


def confident_classes(labels, probs) -> np.ndarray:
    """(N,) the class confident learning assigns each image: the most probable of the classes
    whose probability reaches their threshold; the given label where none does."""
    labels, probs = np.asarray(labels, dtype=int), np.asarray(probs, dtype=np.float64)
    confident = probs >= class_thresholds(labels, probs)
    assigned = decide(np.where(confident, probs, -np.inf), multilabel=False)
    return np.where(confident.any(axis=1), assigned, labels)


def find_label_errors(
    predictions: Predictions, *, multilabel: bool, rank_by: str = "margin"
) -> list[LabelErrorCandidate]:
    """The candidates among predictions' rows, most doubtful first: by margin (suggested minus
    given probability, largest first) or by self-confidence (given probability, lowest first)."""
    if rank_by not in RANKINGS:
        raise invalid_parameter("rank_by", "find_label_errors", f"one of {RANKINGS}", rank_by)
    found = _multilabel(predictions) if multilabel else _single_label(predictions)
    if rank_by == "margin":
        return sorted(found, key=lambda row: -row.margin)
    return sorted(found, key=lambda row: row.given_probability)


def label_error_candidates(
    run_dir: Path | str | RunDirectory, *, rank_by: str = "margin"
) -> list[LabelErrorCandidate]:
    """find_label_errors on a run directory's (or an evaluation folder's) predictions.csv."""
    run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    return find_label_errors(
        run.read_predictions(), multilabel=run_is_multilabel(run), rank_by=rank_by
    )


def _single_label(predictions: Predictions) -> list[LabelErrorCandidate]:
    labels, probs, classes = predictions.label_indices(), predictions.probs, predictions.classes
    assigned = confident_classes(labels, probs)
    return [
        LabelErrorCandidate(
            predictions.paths[row],
            classes[labels[row]],
            classes[assigned[row]],
            float(probs[row, assigned[row]]),
            float(probs[row, labels[row]]),
        )
        for row in np.flatnonzero(assigned != labels)
    ]


def _multilabel(predictions: Predictions) -> list[LabelErrorCandidate]:
    marked, classes = predictions.label_matrix(), predictions.classes
    found = []
    for c, name in enumerate(classes):
        present = predictions.probs[:, c]
        both = np.stack([1 - present, present], axis=1)  # column 0 absent, column 1 present
        states = marked[:, c].astype(int)
        for row in np.flatnonzero(confident_classes(states, both) != states):
            toggled = marked[row].copy()
            toggled[c] = not toggled[c]
            found.append(
                LabelErrorCandidate(
                    predictions.paths[row],
                    predictions.labels[row],
                    " ".join(classes[i] for i in np.flatnonzero(toggled)),
                    float(both[row, 1 - states[row]]),
                    float(both[row, states[row]]),
                    name,
                )
            )
    return found
