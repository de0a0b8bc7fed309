"""The list of runs and what one run's predictions hold, on run directories built by hand:
damaged files show as an error in the list, never as a failure of it."""

from datetime import datetime, timedelta, timezone

import pytest
from tests.helpers import MULTILABEL_PREDICTIONS

from imclass.errors import ConfigError
from imclass.evaluate.runs import (
    confusion_cell,
    counts_at_thresholds,
    label_cell,
    list_runs,
    summarize_run,
)
from imclass.models.backbones import default_preprocessing
from imclass.models.run_dir import ModelSpec, RunDirectory

TINY = "test_efficientnet"
PETS = ("cat", "dog", "fox")
# single-label: (path, label, predicted, probabilities)
SINGLE = [
    ("c1.jpg", "cat", "cat", [0.8, 0.1, 0.1]),
    ("c2.jpg", "cat", "dog", [0.3, 0.6, 0.1]),
    ("c3.jpg", "cat", "dog", [0.1, 0.85, 0.05]),
    ("d1.jpg", "dog", "dog", [0.1, 0.7, 0.2]),
    ("d2.jpg", "dog", "fox", [0.1, 0.4, 0.5]),
]


def make_run(folder, classes=PETS, *, multilabel=False, thresholds=None, metrics=None):
    run = RunDirectory(folder)
    pre = default_preprocessing(TINY).at_size(64)
    run.write_spec(ModelSpec(TINY, classes, pre, multilabel, thresholds))
    run.write_config({"data": f"/photos/{run.path.name}", "train": {"epochs": 3}})
    if metrics is not None:
        run.write_metrics(metrics)
    return run


def single_label_run(folder) -> RunDirectory:
    run = make_run(folder)
    paths, labels, predicted, probs = zip(*SINGLE, strict=True)
    run.write_predictions(paths, labels, predicted, probs, PETS)
    return run


def multilabel_run(folder, thresholds=None) -> RunDirectory:
    run = make_run(folder, ("a", "b"), multilabel=True, thresholds=thresholds)
    paths, labels, probs = zip(*MULTILABEL_PREDICTIONS, strict=True)
    run.write_predictions(paths, labels, labels, probs, ("a", "b"))
    return run


def test_a_folder_of_runs_lists_each_with_its_headline_figures(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs / "pets", metrics={"accuracy": 0.9, "macro_f1": 0.85, "n_images": 20})
    fridge = {"multilabel": True, "exact_match": 0.75, "mAP": 0.9, "accuracy": 2, "n_images": 8}
    make_run(runs / "fridge", ("milk", "egg"), multilabel=True, metrics=fridge)
    make_run(runs / "fresh")  # trained, not yet validated: no metrics.json
    (runs / "notes").mkdir()  # not a run: left out
    (runs / "notes" / "config.yaml").write_text("data: x\n")
    listed = list_runs([runs, runs / "pets"])  # a run given twice is listed once
    assert [r.name for r in listed] == ["fresh", "fridge", "pets"]
    fresh, fridge, pets = listed
    assert (pets.model, pets.data, pets.image_size, pets.multilabel) == (
        TINY,
        "/photos/pets",
        64,
        False,
    )
    assert pets.metrics == {"accuracy": 0.9, "macro_f1": 0.85} and pets.n_images == 20
    assert pets.classes == PETS and pets.error is None
    assert abs(datetime.now(timezone.utc) - pets.date) < timedelta(minutes=5)
    assert fridge.multilabel and fridge.metrics == {"exact_match": 0.75, "mAP": 0.9}
    assert fresh.metrics == {} and fresh.n_images is None and fresh.error is None


def test_damaged_files_give_a_run_an_error_and_the_list_goes_on(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs / "a-good", metrics={"accuracy": 0.5})
    make_run(runs / "b-metrics").metrics_path.write_text("{not json")
    make_run(runs / "c-spec", metrics={"accuracy": 0.7}).spec_path.write_text("{}")
    make_run(runs / "d-config").config_path.write_text("data: [unclosed\n")
    make_run(runs / "e-list", metrics={"accuracy": 0.6}).metrics_path.write_text("[1, 2]")
    (runs / "f-binary").mkdir()
    (runs / "f-binary" / "model.json").write_bytes(b"\xff\xfe\x00")
    listed = list_runs([runs, tmp_path / "missing"])
    errors = {r.name: r.error for r in listed}
    assert errors["a-good"] is None
    assert "metrics.json: unreadable" in errors["b-metrics"]
    assert "unreadable model description" in errors["c-spec"]
    assert "config.yaml: unreadable" in errors["d-config"]
    assert "not a mapping" in errors["e-list"]
    assert "model.json" in errors["f-binary"]
    assert "not a run directory" in errors["missing"]
    spec_broken = next(r for r in listed if r.name == "c-spec")
    assert spec_broken.model is None and spec_broken.metrics == {"accuracy": 0.7}
    assert next(r for r in listed if r.name == "d-config").model == TINY


def test_a_summary_of_a_file_is_an_error_not_an_exception(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    assert "not a run directory" in summarize_run(tmp_path / "x.txt").error
    assert list_runs(tmp_path / "x.txt")[0].name == "x.txt"


def test_a_confusion_cell_holds_its_images_most_confident_first_with_top_three(tmp_path):
    run = single_label_run(tmp_path)
    cell = confusion_cell(run.path, "cat", "dog")
    assert [(i.path, i.label, i.predicted) for i in cell] == [
        ("c3.jpg", "cat", "dog"),
        ("c2.jpg", "cat", "dog"),
    ]
    assert cell[1].top == [("dog", 0.6), ("cat", 0.3), ("fox", 0.1)]
    assert [i.path for i in confusion_cell(run, "dog", "fox")] == ["d2.jpg"]
    assert confusion_cell(run, "fox", "cat") == []


def test_a_class_not_in_the_run_is_named_with_a_close_match(tmp_path):
    run = single_label_run(tmp_path)
    with pytest.raises(ConfigError, match="'true_class' parameter .* Got 'cta'.*'cat'"):
        confusion_cell(run, "cta", "dog")
    with pytest.raises(ConfigError, match="multi-label run has no confusion matrix"):
        confusion_cell(multilabel_run(tmp_path / "multi"), "a", "b")


def test_multilabel_counts_follow_the_thresholds(tmp_path):
    run = multilabel_run(tmp_path)
    counts = counts_at_thresholds(run, 0.5)
    assert {k: counts["a"][k] for k in ("tp", "fp", "fn", "tn")} == {
        "tp": 2,
        "fp": 0,
        "fn": 1,
        "tn": 4,
    }
    assert {k: counts["b"][k] for k in ("tp", "fp", "fn", "tn")} == {
        "tp": 2,
        "fp": 1,
        "fn": 0,
        "tn": 4,
    }
    assert counts["b"]["precision"] == pytest.approx(2 / 3) and counts["b"]["recall"] == 1.0
    strict = counts_at_thresholds(run, [0.85, 0.95])
    assert [strict["a"][k] for k in ("tp", "fp", "fn", "tn")] == [1, 0, 2, 4]
    assert [strict["b"][k] for k in ("tp", "fp", "fn", "tn")] == [0, 1, 2, 4]


def test_without_thresholds_the_runs_own_apply(tmp_path):
    tuned = multilabel_run(tmp_path / "tuned", thresholds=(0.85, 0.95))
    assert counts_at_thresholds(tuned) == counts_at_thresholds(tuned, [0.85, 0.95])
    evaluation = RunDirectory(tmp_path / "evaluation")  # evaluate --out: no model.json
    evaluation.predictions_path.parent.mkdir()
    evaluation.predictions_path.write_bytes(tuned.predictions_path.read_bytes())
    evaluation.write_metrics({"multilabel": True, "thresholds": [0.85, 0.95]})
    assert counts_at_thresholds(evaluation) == counts_at_thresholds(tuned, [0.85, 0.95])
    assert counts_at_thresholds(multilabel_run(tmp_path / "plain")) == counts_at_thresholds(
        tuned, 0.5
    )


@pytest.mark.parametrize("bad", [[0.5, 0.5, 0.5], 1.5, -0.1, "high", float("nan"), [[0.5]]])
def test_thresholds_that_do_not_fit_are_refused(tmp_path, bad):
    run = multilabel_run(tmp_path)
    with pytest.raises(ConfigError, match="'thresholds' parameter of counts_at_thresholds"):
        counts_at_thresholds(run, bad)


def test_the_images_behind_a_count(tmp_path):
    run = multilabel_run(tmp_path)
    (spurious,) = label_cell(run, "b", "fp", 0.5)
    assert (spurious.path, spurious.label, spurious.predicted) == ("6.jpg", "", "b")
    assert spurious.top == [("b", 0.95), ("a", 0.15)]
    assert [i.path for i in label_cell(run, "a", "tp", 0.5)] == ["0.jpg", "1.jpg"]
    quiet = label_cell(run, "a", "tn", 0.5)  # by the probability of a: 0.2, 0.15, 0.1, 0.05
    assert [(i.path, i.predicted) for i in quiet] == [
        ("4.jpg", "b"),
        ("6.jpg", "b"),
        ("3.jpg", "b"),
        ("5.jpg", ""),
    ]
    missed = label_cell(run, "a", "fn", [0.85, 0.95])
    assert [(i.path, i.predicted) for i in missed] == [("1.jpg", ""), ("2.jpg", "")]
    with pytest.raises(ConfigError, match="'outcome' parameter of label_cell"):
        label_cell(run, "a", "wrong", 0.5)
