"""The run directory: one module names its files, and every file reads back what was written."""

import ast
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import imclass
from imclass.errors import RunDirError
from imclass.models import run_dir
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import CLASS_ATTENTION, build_model
from imclass.models.history import History
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.system.log import read_system_log

PACKAGE = Path(imclass.__file__).parent
OWNER = "models/run_dir.py"
NAMES = {
    "model.safetensors",
    "model.json",
    "config.yaml",
    "history.csv",
    "metrics.json",
    "predictions.csv",
    "report.html",
    "checkpoint.safetensors",
    "system.csv",
    "model.onnx",
    "model.int8.onnx",
    "model.torchscript.pt",
}
# The same text with another meaning: a Hugging Face snapshot's weights file, not a run's.
OTHER_MEANINGS = {("models/backbones.py", "model.safetensors")}
TINY = "test_efficientnet"  # timm's smallest EfficientNet, built without weights


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def file_names_used(path: Path) -> list[str]:
    """Every run-directory file name a string constant of path is (or ends in, as '/name')."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    return [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        for name in NAMES
        if node.value == name or node.value.endswith(f"/{name}")
    ]


def uses() -> set[tuple[str, str]]:
    return {
        (path.relative_to(PACKAGE).as_posix(), name)
        for path in PACKAGE.rglob("*.py")
        for name in file_names_used(path)
    }


def test_run_directory_file_names_are_written_out_in_run_dir_only():
    defined = {value for key, value in vars(run_dir).items() if key.endswith("_FILE")}
    assert defined == NAMES
    assert sorted(file_names_used(PACKAGE / OWNER)) == sorted(NAMES)  # each defined once
    elsewhere = {(module, name) for module, name in uses() if module != OWNER}
    assert elsewhere - OTHER_MEANINGS == set()


def test_every_allowance_for_a_name_elsewhere_is_still_needed():
    assert uses() >= OTHER_MEANINGS


def spec_of(classes=("cat", "dog", "fox")) -> ModelSpec:
    pre = default_preprocessing(TINY).at_size(64)
    return ModelSpec(TINY, classes, pre, True, (0.25, 0.5, 0.75), CLASS_ATTENTION, 1.7, True)


def test_model_and_spec_round_trip(tmp_path):
    torch.manual_seed(0)
    spec = spec_of()
    model = build_model(TINY, 3, CLASS_ATTENTION, pretrained=False).eval()
    directory = RunDirectory(tmp_path / "run")
    directory.write_model(model, spec)
    stream = torch.random.get_rng_state()
    loaded, read = directory.load_model()
    assert torch.equal(torch.random.get_rng_state(), stream)  # the caller's stream is untouched
    assert read == spec
    assert json.loads(directory.spec_path.read_text())["thresholds"] == [0.25, 0.5, 0.75]
    expected = model.state_dict()
    assert loaded.state_dict().keys() == expected.keys()
    assert all(torch.equal(loaded.state_dict()[k], expected[k]) for k in expected)
    inputs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(inputs), model(inputs))


def test_a_new_spec_replaces_model_json_and_keeps_the_weights(tmp_path):
    directory = RunDirectory(tmp_path)
    directory.write_model(build_model(TINY, 3, CLASS_ATTENTION, pretrained=False), spec_of())
    weights = directory.weights_path.read_bytes()
    directory.write_spec(replace(spec_of(), temperature=0.8))
    assert directory.read_spec().temperature == 0.8
    assert directory.weights_path.read_bytes() == weights


def test_missing_or_broken_model_files_are_named(tmp_path):
    directory = RunDirectory(tmp_path)
    with pytest.raises(RunDirError, match="not a run directory"):
        directory.read_spec()
    directory.write_spec(spec_of())
    with pytest.raises(RunDirError, match="is missing"):
        directory.load_model()
    directory.spec_path.write_text("{}")
    with pytest.raises(RunDirError, match="unreadable model description"):
        directory.read_spec()


def test_config_round_trip_keeps_the_order(tmp_path):
    resolved = {"imclass_version": "1", "data": "/d", "train": {"lr": 0.001, "epochs": 3}}
    directory = RunDirectory(tmp_path)
    directory.write_config(resolved)
    assert directory.read_config() == resolved
    assert list(directory.read_config()) == ["imclass_version", "data", "train"]


def test_missing_or_broken_config_is_named(tmp_path):
    directory = RunDirectory(tmp_path)
    with pytest.raises(RunDirError, match="not a run directory"):
        directory.read_config()
    directory.config_path.write_text("- a list\n- of nothing\n")
    with pytest.raises(RunDirError, match="not a mapping"):
        directory.read_config()
    directory.config_path.write_text("train: [unclosed\n")
    with pytest.raises(RunDirError, match="unreadable"):
        directory.read_config()


def test_history_round_trip_with_numbers_as_numbers(tmp_path):
    directory = RunDirectory(tmp_path)
    assert directory.read_history() == []
    history = History(directory)
    for epoch, loss in ((1, 0.123456789), (2, 0.05)):
        history.add(
            phase="head",
            epoch=epoch,
            train_loss=loss,
            train_accuracy=0.5,
            valid_loss=loss * 2,
            valid_accuracy=0.75,
            lr=1e-4,
            seconds=1.5,
            images_per_s=40.0,
            data_wait_fraction=0.03,
            note="not a column",
        )
    rows = directory.read_history()
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[0]["train_loss"] == 0.123457  # six significant digits
    assert rows[1] == {**history.rows[1], "valid_loss": 0.1}
    again = History(directory)
    again.load()
    assert again.rows == rows


def test_a_history_from_before_data_wait_was_measured_reads_it_as_nan(tmp_path):
    directory = RunDirectory(tmp_path)
    directory.history_path.write_text(
        "phase,epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,lr,seconds,images_per_s\n"
        "finetune,1,0.5,0.8,0.4,0.9,0.0001,10,20\n"
    )
    (row,) = directory.read_history()
    assert row["images_per_s"] == 20.0 and math.isnan(row["data_wait_fraction"])
    history = History(directory)
    history.load()
    history.add(**{**row, "epoch": 2, "data_wait_fraction": 0.25})  # a resumed old run
    assert [r["data_wait_fraction"] for r in directory.read_history()][1] == 0.25


def test_the_machine_s_samples_are_read_from_system_csv(tmp_path):
    directory = RunDirectory(tmp_path)
    assert read_system_log(directory.system_path) == []
    directory.system_path.write_text("time,cpu_percent\n1700000000.0,42.5\n")
    assert read_system_log(directory.system_path) == [{"time": 1700000000.0, "cpu_percent": 42.5}]
    assert run_dir.system_log_beside(tmp_path / "out" / "preds.csv") == (
        tmp_path / "out" / "preds.system.csv"
    )


def test_metrics_round_trip(tmp_path):
    metrics = {"accuracy": 0.875, "per_class": {"cat": {"f1": 0.5}}, "n_images": 8}
    directory = RunDirectory(tmp_path)
    directory.write_metrics(metrics)
    assert directory.read_metrics() == metrics


def test_an_evaluation_elsewhere_reads_the_run_and_writes_only_its_own_folder(tmp_path):
    run, out = RunDirectory(tmp_path / "run"), RunDirectory(tmp_path / "out")
    written = {out.metrics_path, out.predictions_path, out.report_path}
    assert {p.name for p in written} == set(RunDirectory.EVALUATION_FILES)
    assert all(p.parent == out.path for p in written)
    assert not written & set(run.inputs)
    assert {p.name for p in run.inputs} & set(RunDirectory.EVALUATION_FILES) == set()


def trained_pair(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(5, 4)).square().mean().backward()
        optimizer.step()
    return model, optimizer


def test_checkpoint_round_trip_restores_model_optimizer_and_extras(tmp_path):
    model, optimizer = trained_pair(seed=0)
    directory = RunDirectory(tmp_path)
    state = {"phase": "finetune", "epochs_done": 2, "best": {"epoch": "finetune 2"}}
    extra = {"best_logits": torch.randn(6, 3), "best_indices": torch.arange(6)}
    directory.write_checkpoint(state, extra, model, optimizer)
    assert directory.has_checkpoint()

    checkpoint = directory.read_checkpoint()
    assert {k: v for k, v in checkpoint.state.items() if k != "optimizer"} == state
    assert checkpoint.extra.keys() == extra.keys()
    assert all(torch.equal(checkpoint.extra[k], extra[k]) for k in extra)
    fresh, fresh_optimizer = trained_pair(seed=1)
    checkpoint.restore(fresh, fresh_optimizer)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    saved, restored = optimizer.state_dict(), fresh_optimizer.state_dict()
    # JSON keeps betas as a list, which AdamW takes as well as the tuple it was given
    assert restored["param_groups"] == json.loads(json.dumps(saved["param_groups"]))
    for param, values in saved["state"].items():
        for name, value in values.items():
            assert torch.equal(torch.as_tensor(restored["state"][param][name]), value), name

    directory.remove_checkpoint()
    assert not directory.has_checkpoint()
    with pytest.raises(RunDirError, match="nothing to resume"):
        directory.read_checkpoint()


def test_a_checkpoint_without_an_optimizer_restores_the_model_only(tmp_path):
    model, _ = trained_pair(seed=0)
    directory = RunDirectory(tmp_path)
    directory.write_checkpoint({"phase": "head"}, {}, model, None)
    checkpoint = directory.read_checkpoint()
    assert checkpoint.state == {"phase": "head"} and checkpoint.extra == {}
    fresh, fresh_optimizer = trained_pair(seed=1)
    before = fresh_optimizer.state_dict()["state"][0]["exp_avg"].clone()
    checkpoint.restore(fresh, fresh_optimizer)
    assert torch.equal(fresh[0].weight, model[0].weight)
    assert torch.equal(fresh_optimizer.state_dict()["state"][0]["exp_avg"], before)


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    directory = RunDirectory(tmp_path)
    directory.checkpoint_path.write_bytes(b"not a safetensors file")
    with pytest.raises(RunDirError, match="unreadable checkpoint"):
        directory.read_checkpoint()


def test_a_model_json_from_before_the_head_was_named_head_still_reads(tmp_path):
    directory = RunDirectory(tmp_path / "run")
    directory.write_spec(spec_of())
    written = json.loads(directory.spec_path.read_text())
    assert written["head"] == CLASS_ATTENTION and "global_pool" not in written
    written["global_pool"] = written.pop("head")  # as imclass wrote it before
    directory.spec_path.write_text(json.dumps(written))
    assert directory.read_spec().head == CLASS_ATTENTION


def test_predictions_round_trip_with_labels_as_indices_or_sets(tmp_path):
    directory = RunDirectory(tmp_path)
    classes = ("cat", "red fox", "dog")
    probs = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]]
    directory.write_predictions(
        ["a.jpg", "b c.jpg"], ["cat", "red fox"], ["cat", "dog"], probs, classes
    )
    read = directory.read_predictions()
    assert len(read) == 2 and read.classes == classes
    assert read.paths == ("a.jpg", "b c.jpg") and read.predicted == ("cat", "dog")
    assert read.probs.tolist() == probs
    assert read.label_indices().tolist() == [0, 1]
    directory.write_predictions(
        ["a.jpg", "b.jpg"], ["cat dog", ""], ["cat", "dog"], probs, ("cat", "fox", "dog")
    )
    assert directory.read_predictions().label_matrix().tolist() == [
        [True, False, True],
        [False, False, False],
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "an empty file"),
        ("path,label,score\n", "is not path, label, predicted"),
        ("path,label,predicted,p_a,p_b\nx.jpg,a,a,0.5\n", "a row without 5 fields"),
        ("path,label,predicted,p_a,p_b\nx.jpg,a,a,0.5,high\n", "could not convert"),
        ("path,label,predicted,p_a,p_b\nx.jpg,zebra,a,0.5,0.5\n", "'zebra' are not among"),
    ],
)
def test_missing_or_damaged_predictions_are_named(tmp_path, text, reason):
    directory = RunDirectory(tmp_path)
    with pytest.raises(RunDirError, match="no predictions"):
        directory.read_predictions()
    directory.predictions_path.write_text(text)
    with pytest.raises(RunDirError, match=f"unreadable predictions .*{reason}"):
        directory.read_predictions()
