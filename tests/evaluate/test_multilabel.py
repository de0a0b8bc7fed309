import numpy as np
import pytest

from imclass.evaluate.multilabel import multilabel_metrics, tune_thresholds

TARGETS = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
PROBS = np.array([[0.9, 0.2, 0.6], [0.3, 0.7, 0.1], [0.8, 0.4, 0.2], [0.1, 0.3, 0.45]])


def test_metrics_on_a_hand_checked_example():
    m = multilabel_metrics(TARGETS, PROBS, ["a", "b", "c"], [0.5, 0.5, 0.5])
    # predicted: [1,0,1] [0,1,0] [1,0,0] [0,0,0] -> rows 0 and 1 exactly right
    assert m["exact_match"] == 0.5
    assert m["hamming_accuracy"] == pytest.approx(10 / 12)
    assert m["per_label"]["b"] == pytest.approx(
        {
            "precision": 1.0,
            "recall": 0.5,
            "f1": 2 / 3,
            "average_precision": 1.0,
            "support": 2,
            "threshold": 0.5,
            "tp": 1,
            "fp": 0,
            "fn": 1,
            "tn": 2,
        }
    )
    assert m["micro_f1"] == pytest.approx(2 * 4 / (2 * 4 + 0 + 2))
    assert m["confusions"] == [
        {"kind": "missed", "label": "b", "images": 1},
        {"kind": "missed", "label": "c", "images": 1},
    ]


def test_tuned_thresholds_are_never_worse_than_half_on_validation():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, (200, 4))
    probs = np.clip(targets * 0.35 + rng.uniform(0, 0.6, (200, 4)), 0, 1)  # true ones run high
    thresholds, kind = tune_thresholds(targets, probs, "exact_match")
    tuned = multilabel_metrics(targets, probs, list("abcd"), thresholds)["exact_match"]
    half = multilabel_metrics(targets, probs, list("abcd"), [0.5] * 4)["exact_match"]
    assert tuned > half and kind in ("global", "per label")
    f1_thresholds, _ = tune_thresholds(targets, probs, "f1")
    assert len(f1_thresholds) == 4


def test_well_separated_data_keeps_half():
    targets = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    probs = targets * 0.98 + 0.01
    assert tune_thresholds(targets, probs) == ((0.5, 0.5), "0.5")


def test_a_gain_of_one_image_does_not_buy_new_thresholds():
    targets = np.array([[1, 0]] * 20 + [[0, 1]] * 20)
    probs = targets * 0.9 + 0.05
    probs[0, 0] = 0.3  # one image that a threshold of 0.3 would get right
    assert tune_thresholds(targets, probs) == ((0.5, 0.5), "0.5")
    probs[1, 0] = probs[2, 0] = 0.3  # three: a real pattern
    thresholds, kind = tune_thresholds(targets, probs)
    assert kind == "global" and 0.05 < thresholds[0] <= 0.3
