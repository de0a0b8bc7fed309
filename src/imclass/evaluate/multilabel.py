"""Multi-label figures, and the decision thresholds tuned on validation probabilities.

Every decision goes through inference.decisions.decide, as in training, reports and predict.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from imclass.inference.decisions import decide

OBJECTIVES = ("exact_match", "f1")
GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
MIN_GAIN_IMAGES = 2  # a finer choice of thresholds must get this many more images right


def exact_match(targets, predicted) -> float:
    return float(np.mean(np.all(predicted == targets.astype(bool), axis=1)))


def micro_f1(targets, predicted) -> float:
    return float(skm.f1_score(targets, predicted, average="micro", zero_division=0))


def score(objective: str, targets, predicted) -> float:
    return (
        exact_match(targets, predicted)
        if objective == "exact_match"
        else micro_f1(targets, predicted)
    )


def _score_at(objective: str, targets, probs, thresholds) -> float:
    return score(objective, targets, decide(probs, multilabel=True, thresholds=thresholds))


def tune_thresholds(targets, probs, objective: str = "exact_match") -> tuple[tuple, str]:
    """Thresholds for the objective on validation data: 0.5, one global, or one per label.

    The simplest of the three wins unless a finer one scores better by at least two images'
    worth (and 1 %), which keeps small validation sets from buying noise with C free
    parameters: a gain of one image is what any threshold finds by chance.
    """
    targets, probs = np.asarray(targets), np.asarray(probs)
    labels = probs.shape[1]
    margin = max(MIN_GAIN_IMAGES / max(len(targets), 1), 0.01)
    best_global = max(GRID, key=lambda t: (_score_at(objective, targets, probs, t), -abs(t - 0.5)))
    per_label = _per_label(targets, probs, objective, float(best_global))
    candidates = [
        ("0.5", (0.5,) * labels),
        ("global", (float(best_global),) * labels),
        ("per label", per_label),
    ]
    chosen = candidates[0]
    for name, thresholds in candidates[1:]:
        if (
            _score_at(objective, targets, probs, thresholds)
            >= _score_at(objective, targets, probs, chosen[1]) + margin - 1e-12
        ):
            chosen = (name, thresholds)
    return tuple(round(float(t), 3) for t in chosen[1]), chosen[0]


def _per_label(targets, probs, objective: str, start: float) -> tuple[float, ...]:
    """F1: each label on its own. Exact match: coordinate ascent from the global threshold."""
    thresholds = np.full(probs.shape[1], start)
    rounds = 1 if objective == "f1" else 2
    for _ in range(rounds):
        for c in range(probs.shape[1]):

            def gain(t, c=c):
                trial = thresholds.copy()
                trial[c] = t
                predicted = decide(probs, multilabel=True, thresholds=trial)
                if objective == "f1":
                    return skm.f1_score(targets[:, c], predicted[:, c], zero_division=0)
                return exact_match(targets, predicted)

            thresholds[c] = max(GRID, key=lambda t: (gain(t), -abs(t - thresholds[c])))
    return tuple(float(t) for t in thresholds)


def multilabel_metrics(targets, probs, classes, thresholds) -> dict:
    """Every figure metrics.json holds for multi-label data, at the given thresholds."""
    targets, probs = np.asarray(targets).astype(int), np.asarray(probs, dtype=float)
    predicted = decide(probs, multilabel=True, thresholds=thresholds)
    per_label, aps = {}, []
    for c, name in enumerate(classes):
        per_label[name] = _label_figures(targets[:, c], probs[:, c], predicted[:, c], thresholds[c])
        if per_label[name]["average_precision"] is not None:
            aps.append(per_label[name]["average_precision"])
    return {
        "multilabel": True,
        "n_images": int(len(targets)),
        "exact_match": exact_match(targets, predicted),
        "hamming_accuracy": float(np.mean(predicted == targets.astype(bool))),
        "micro_f1": micro_f1(targets, predicted),
        "macro_f1": float(skm.f1_score(targets, predicted, average="macro", zero_division=0)),
        "mAP": float(np.mean(aps)) if aps else None,
        "thresholds": [float(t) for t in thresholds],
        "per_label": per_label,
        "classes": list(classes),
        "confusions": _confusions(targets, predicted, classes),
    }


def _label_figures(truth, prob, predicted, threshold) -> dict:
    informative = 0 < truth.sum() < len(truth)
    return {
        **label_counts(truth, predicted),
        "average_precision": float(skm.average_precision_score(truth, prob))
        if informative
        else None,
        "support": int(truth.sum()),
        "threshold": float(threshold),
    }


def label_counts(truth, predicted) -> dict:
    """One label's outcomes (truth 0/1, predicted bool): tp, fp, fn, tn, and the precision,
    recall and F1 they make (0 where undefined)."""
    truth, predicted = np.asarray(truth) == 1, np.asarray(predicted, dtype=bool)
    tp, fp = int(np.sum(predicted & truth)), int(np.sum(predicted & ~truth))
    fn, tn = int(np.sum(~predicted & truth)), int(np.sum(~predicted & ~truth))
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def _confusions(targets, predicted, classes) -> list[dict]:
    """Most frequent errors: a label missed (present, not predicted) or added (not present)."""
    missed = (~predicted & (targets == 1)).sum(axis=0)
    added = (predicted & (targets == 0)).sum(axis=0)
    ranked = sorted(
        [("missed", classes[c], int(missed[c])) for c in range(len(classes))]
        + [("added", classes[c], int(added[c])) for c in range(len(classes))],
        key=lambda row: -row[2],
    )
    return [{"kind": kind, "label": name, "images": n} for kind, name, n in ranked if n]


def threshold_curves(targets, probs) -> dict[str, list[float]]:
    """Each metric at each global threshold of GRID, for the report."""
    targets = np.asarray(targets)
    rows = {"threshold": GRID.tolist(), "exact_match": [], "hamming_accuracy": [], "micro_f1": []}
    for t in GRID:
        predicted = decide(probs, multilabel=True, thresholds=t)
        rows["exact_match"].append(exact_match(targets, predicted))
        rows["hamming_accuracy"].append(float(np.mean(predicted == targets.astype(bool))))
        rows["micro_f1"].append(micro_f1(targets, predicted))
    return rows
