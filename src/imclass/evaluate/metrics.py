"""How good a single-label classifier is, from true labels and predicted probabilities."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from imclass.inference.decisions import decide


def classification_metrics(labels, probs, classes) -> dict:
    """Every figure metrics.json holds; labels (N,) ints, probs (N, C) rows summing to 1."""
    labels, probs = np.asarray(labels, dtype=int), np.asarray(probs, dtype=np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)  # float32 softmax rows drift from 1
    everyone = list(range(len(classes)))
    predicted = decide(probs, multilabel=False)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        labels, predicted, labels=everyone, zero_division=0
    )
    return {
        "n_images": int(len(labels)),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "balanced_accuracy": _balanced_accuracy(labels, predicted, everyone),
        "macro_f1": float(
            skm.f1_score(labels, predicted, labels=everyone, average="macro", zero_division=0)
        ),
        "top_k_accuracy": top_k_accuracies(labels, probs),
        "log_loss": float(skm.log_loss(labels, np.clip(probs, 1e-12, 1.0), labels=everyone)),
        "expected_calibration_error": expected_calibration_error(labels, probs),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "classes": list(classes),
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=everyone).tolist(),
    }


def _balanced_accuracy(labels, predicted, everyone) -> float:
    """Mean recall over the classes present in labels (sklearn's definition)."""
    recalls = [np.mean(predicted[labels == c] == c) for c in everyone if np.any(labels == c)]
    return float(np.mean(recalls)) if recalls else 0.0


def top_k_accuracies(labels, probs, ks=(1, 3, 5)) -> dict[str, float]:
    """Share of images whose true class is among the k most probable, for each k < classes."""
    ranked = np.argsort(-probs, axis=1)
    return {
        str(k): float(np.mean(np.any(ranked[:, :k] == labels[:, None], axis=1)))
        for k in ks
        if k == 1 or k < probs.shape[1]
    }


def expected_calibration_error(labels, probs, bins: int = 15) -> float:
    """Confidence-weighted gap between confidence and accuracy over equal-width bins."""
    bin_acc, bin_conf, bin_count = reliability_bins(labels, probs, bins)
    total = bin_count.sum()
    if total == 0:
        return 0.0
    return float(np.sum(bin_count * np.abs(bin_acc - bin_conf)) / total)


def reliability_bins(labels, probs, bins: int = 15):
    """Per confidence bin: accuracy, mean confidence and count (empty bins are zeros)."""
    confidence = probs.max(1)
    correct = decide(probs, multilabel=False) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    safe = np.maximum(count, 1)
    accuracy = np.bincount(which, weights=correct, minlength=bins) / safe
    mean_conf = np.bincount(which, weights=confidence, minlength=bins) / safe
    return accuracy, mean_conf, count


def undo_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax rows as they were before the logits were divided by temperature."""
    logits = np.log(np.clip(probs, 1e-300, 1.0)) * temperature
    logits -= logits.max(1, keepdims=True)
    unscaled = np.exp(logits)
    return unscaled / unscaled.sum(1, keepdims=True)


def worst_mistakes(labels, probs, limit: int) -> np.ndarray:
    """Rows the model decides wrongly, the most confident wrong decision first (at most limit):
    the report's and the Results page's "worst mistakes". labels (N,) ints, probs (N, C)."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    predicted = decide(probs, multilabel=False)
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:limit]
