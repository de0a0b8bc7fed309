import csv

import numpy as np

from imclass.evaluate.evaluator import write_predictions
from imclass.models.run_dir import RunDirectory


def read_rows(out: RunDirectory):
    with out.predictions_path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_single_label_rows_keep_order_and_every_probability(tmp_path):
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    paths = ["a.jpg", "b.jpg", "a.jpg"]  # a path scored twice keeps both rows
    out = RunDirectory(tmp_path)
    write_predictions(out, [0, 0, 1], probs, paths, ("cat", "dog"))
    rows = read_rows(out)
    assert [r["path"] for r in rows] == paths
    assert [(r["label"], r["predicted"]) for r in rows] == [
        ("cat", "cat"),
        ("cat", "dog"),
        ("dog", "cat"),
    ]
    assert float(rows[1]["p_dog"]) == 0.7


def test_multilabel_rows_list_labels_at_or_above_their_thresholds(tmp_path):
    probs = np.array([[0.9, 0.2, 0.5]])
    out = RunDirectory(tmp_path)
    write_predictions(out, np.array([[1, 1, 0]]), probs, ["x.jpg"], ("a", "b", "c"), (0.5,) * 3)
    (row,) = read_rows(out)
    assert (row["label"], row["predicted"]) == ("a b", "a c")
