"""One rule turns probabilities into an HTTP answer's labels, for the Live page and the service:
single-label the k most probable; multi-label the labels reaching their thresholds, at most k."""

import numpy as np

from imclass.inference.answers import DEFAULT_TOP_K, label_records, ranked_labels
from imclass.models.backbones import default_preprocessing
from imclass.models.run_dir import ModelSpec

PRE = default_preprocessing("test_efficientnet")
PROBS = np.array([[0.1, 0.6, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1]])
CLASSES = ("a", "b", "c", "d")


def names(rows):
    return [[name for name, _ in row] for row in rows]


def test_single_label_gives_the_k_most_probable_three_by_default():
    spec = ModelSpec("x", CLASSES, PRE)
    assert DEFAULT_TOP_K == 3
    assert names(ranked_labels(PROBS, spec)) == [["b", "c", "a"], ["a", "b", "c"]]
    assert names(ranked_labels(PROBS, spec, 1)) == [["b"], ["a"]]
    assert names(ranked_labels(PROBS, spec, 9)) == [["b", "c", "a", "d"], ["a", "b", "c", "d"]]


def test_multilabel_gives_every_label_at_its_threshold_and_at_most_k():
    spec = ModelSpec("x", CLASSES, PRE, multilabel=True, thresholds=(0.1, 0.5, 0.2, 0.9))
    assert names(ranked_labels(PROBS, spec)) == [["b", "c", "a"], ["a"]]
    assert names(ranked_labels(PROBS, spec, 2)) == [["b", "c"], ["a"]]
    untuned = ModelSpec("x", CLASSES, PRE, multilabel=True)  # 0.5 each
    assert names(ranked_labels(PROBS, untuned)) == [["b"], ["a"]]


def test_records_round_to_six_decimals():
    assert label_records([("cat", 0.12345678), ("dog", 1 / 3)]) == [
        {"class": "cat", "probability": 0.123457},
        {"class": "dog", "probability": 0.333333},
    ]
