"""Label-error candidates by confident learning, on predictions.csv files built by hand: the
images flagged are exactly the mislabelled ones, with the right suggestions."""

import numpy as np
import pytest
from tests.helpers import MULTILABEL_PREDICTIONS

from imclass.errors import ConfigError
from imclass.evaluate.label_errors import (
    class_thresholds,
    confident_classes,
    find_label_errors,
    label_error_candidates,
)
from imclass.models.backbones import default_preprocessing
from imclass.models.run_dir import ModelSpec, RunDirectory

CLASSES = ("cat", "dog", "fox")
# (path, label, probabilities). Two labels are wrong: c4 is a dog, d4 a fox. c5 and f2 are hard
# (c5 is even predicted dog) but no class is confident for them, so they are not flagged.
ROWS = [
    ("c1.jpg", "cat", [0.9, 0.05, 0.05]),
    ("c2.jpg", "cat", [0.8, 0.1, 0.1]),
    ("c3.jpg", "cat", [0.7, 0.2, 0.1]),
    ("c4.jpg", "cat", [0.1, 0.9, 0.0]),
    ("c5.jpg", "cat", [0.45, 0.5, 0.05]),
    ("d1.jpg", "dog", [0.1, 0.8, 0.1]),
    ("d2.jpg", "dog", [0.2, 0.7, 0.1]),
    ("d3.jpg", "dog", [0.05, 0.9, 0.05]),
    ("d4.jpg", "dog", [0.25, 0.05, 0.7]),
    ("f1.jpg", "fox", [0.1, 0.1, 0.8]),
    ("f2.jpg", "fox", [0.3, 0.2, 0.5]),
    ("f3.jpg", "fox", [0.2, 0.1, 0.7]),
]


def write_run(folder, rows, classes, *, multilabel=False, spec=True) -> RunDirectory:
    """predictions.csv from rows; model.json (or, as an evaluation folder has, metrics.json
    alone) says whether they are multi-label."""
    run = RunDirectory(folder)
    paths, labels, probs = zip(*rows, strict=True)
    run.write_predictions(paths, labels, labels, probs, classes)
    if spec:
        pre = default_preprocessing("test_efficientnet").at_size(64)
        run.write_spec(ModelSpec("test_efficientnet", classes, pre, multilabel))
    else:
        run.write_metrics({"multilabel": True} if multilabel else {"accuracy": 1.0})
    return run


def test_thresholds_are_each_class_mean_probability_over_its_own_images():
    labels = [CLASSES.index(label) for _, label, _ in ROWS]
    probs = np.array([p for *_, p in ROWS])
    np.testing.assert_allclose(class_thresholds(labels, probs), [2.95 / 5, 2.45 / 4, 2.0 / 3])
    assigned = confident_classes(labels, probs)
    assert [CLASSES[i] for i in assigned] == [
        *("cat", "cat", "cat", "dog", "cat"),
        *("dog", "dog", "dog", "fox"),
        *("fox", "fox", "fox"),
    ]


@pytest.mark.parametrize("spec", [True, False], ids=["run directory", "evaluation folder"])
def test_exactly_the_two_mislabelled_images_are_flagged_most_doubtful_first(tmp_path, spec):
    found = label_error_candidates(write_run(tmp_path, ROWS, CLASSES, spec=spec))
    assert [(c.path, c.given, c.suggested, c.label) for c in found] == [
        ("c4.jpg", "cat", "dog", None),  # margin 0.9 - 0.1 = 0.8
        ("d4.jpg", "dog", "fox", None),  # margin 0.7 - 0.05 = 0.65
    ]
    assert [(c.suggested_probability, c.given_probability) for c in found] == [
        (0.9, 0.1),
        (0.7, 0.05),
    ]
    assert [c.margin for c in found] == pytest.approx([0.8, 0.65])


def test_ranked_by_self_confidence_the_lowest_given_probability_comes_first(tmp_path):
    found = label_error_candidates(write_run(tmp_path, ROWS, CLASSES), rank_by="self_confidence")
    assert [c.path for c in found] == ["d4.jpg", "c4.jpg"]
    with pytest.raises(ConfigError, match="'rank_by' parameter of find_label_errors"):
        label_error_candidates(tmp_path, rank_by="loss")


def test_a_class_nobody_is_labelled_with_is_never_suggested(tmp_path):
    rows = [("1.jpg", "a", [0.9, 0.05, 0.05]), ("2.jpg", "a", [0.01, 0.0, 0.99])]
    rows += [("3.jpg", "b", [0.1, 0.9, 0.0]), ("4.jpg", "b", [0.0, 0.01, 0.99])]
    predictions = write_run(tmp_path, rows, ("a", "b", "z")).read_predictions()
    assert np.isinf(class_thresholds(predictions.label_indices(), predictions.probs)[2])
    assert find_label_errors(predictions, multilabel=False) == []


def test_multilabel_flags_a_marked_label_absent_and_an_unmarked_one_present(tmp_path):
    found = label_error_candidates(
        write_run(tmp_path, MULTILABEL_PREDICTIONS, ("a", "b"), multilabel=True)
    )
    # label a: marked images average 0.6, unmarked ones 0.875 absent: image 2 (0.9 absent) is
    # confidently without a; label b: marked 0.85, image 6 (0.95) confidently has b
    assert [(c.path, c.label, c.given, c.suggested) for c in found] == [
        ("6.jpg", "b", "", "b"),
        ("2.jpg", "a", "a", ""),
    ]
    probabilities = [(c.suggested_probability, c.given_probability) for c in found]
    np.testing.assert_allclose(probabilities, [(0.95, 0.05), (0.9, 0.1)])


def test_no_predictions_no_candidates(tmp_path):
    run = write_run(tmp_path, ROWS[:1], CLASSES)
    run.predictions_path.write_text("path,label,predicted,p_cat,p_dog,p_fox\n")
    assert label_error_candidates(run) == []
