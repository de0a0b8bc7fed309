"""`imclass export`, and `predict`/`evaluate --runtime`: the ONNX runtime answers as eager
PyTorch does on real photos, exports once into the run directory and again when the model
changes, and a damaged or foreign ONNX file is one error line naming it."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
from tests.helpers import invoke, make_image_folder, one_error_line, onnx_file

from imclass.inference.exported import ExportDescription
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory

pytestmark = pytest.mark.slow  # the shared tiny training, then real exports (~10 s each)


@pytest.fixture
def run(red_blue_run, tmp_path):
    return shutil.copytree(red_blue_run, tmp_path / "run")


def predicted(*args) -> dict[str, dict[str, float]]:
    """`imclass predict ARGS --format json` as {file name: {class: probability}}."""
    result = invoke("predict", *args, "--format", "json", "--top-k", "2")
    assert result.exit_code == 0, result.stderr or result.exception
    rows = json.loads(result.stdout)
    return {
        row["path"].rsplit("/", 1)[-1]: {p["class"]: p["probability"] for p in row["predictions"]}
        for row in rows
    }


def assert_same_answers(fast: dict, eager: dict) -> None:
    """Every photo: the same top class, every probability within 1e-4 (JSON rounds to 1e-6)."""
    assert fast.keys() == eager.keys() and len(fast) > 0
    for name, probs in eager.items():
        assert max(fast[name], key=fast[name].get) == max(probs, key=probs.get), name
        for label, probability in probs.items():
            assert abs(fast[name][label] - probability) <= 1e-4 + 1e-6, (name, label)


def test_export_writes_model_onnx_that_predict_then_uses(run):
    result = invoke("export", run)
    assert result.exit_code == 0, result.stderr or result.exception
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {run / 'model.onnx'} (")
    assert lines[1].startswith("parity on ") and "validation images of the run" in lines[1]
    data = RunDirectory(run).read_predictions().paths
    eager = predicted(run, *data, "--runtime", "torch")
    written = (run / "model.onnx").stat().st_mtime_ns
    used = invoke("predict", run, *data, "--runtime", "onnx", "--format", "json")
    # the file export wrote is current: no second export
    assert used.exit_code == 0 and "exported" not in used.stderr
    assert (run / "model.onnx").stat().st_mtime_ns == written
    assert_same_answers(predicted(run, *data, "--runtime", "onnx"), eager)
    assert_same_answers(predicted(run / "model.onnx", *data), eager)  # the file alone
    again = invoke("export", run)
    assert f"{run / 'model.onnx'}: exists; pass --overwrite" in one_error_line(again)


def test_torchscript_export_writes_the_file_and_its_description(run):
    result = invoke("export", run, "--format", "torchscript", "--out", run / "m.pt")
    assert result.exit_code == 0, result.stderr or result.exception
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"wrote {run / 'm.pt'} (")
    assert lines[1] == f"wrote {run / 'm.pt.json'}"
    assert json.loads((run / "m.pt.json").read_text())["model"]["classes"] == ["blue", "red"]
    refused = invoke("export", run, "--format", "torchscript", "--quantize", "dynamic")
    assert "The 'quantize' parameter of export must be unset for TorchScript" in one_error_line(
        refused
    )


def test_predict_on_real_photos_exports_once_and_again_after_the_model_changes(run, shared_data):
    photos = sorted((shared_data / "hymenoptera" / "val").rglob("*.jpg"))[::20][:6]
    assert len(photos) == 6
    first = invoke("predict", run, *photos, "--format", "json")  # --runtime auto
    assert first.exit_code == 0, first.stderr or first.exception
    assert f"exported {run / 'model.onnx'} for the ONNX runtime" in first.stderr
    assert_same_answers(predicted(run, *photos), predicted(run, *photos, "--runtime", "torch"))
    second = invoke("predict", run, *photos, "--format", "json")
    assert "exported" not in second.stderr and second.stdout == first.stdout
    spec = RunDirectory(run).read_spec()
    RunDirectory(run).write_spec(dataclasses.replace(spec, temperature=4.0))
    changed = invoke("predict", run, *photos, "--format", "json")
    assert f"{run / 'model.onnx'} was exported from other weights or settings" in changed.stderr
    assert changed.stdout != first.stdout
    assert_same_answers(predicted(run, *photos), predicted(run, *photos, "--runtime", "torch"))


@pytest.fixture
def untrained(tmp_path):
    """An untrained two-class run at 64 px (nothing is ever exported from it) and an image."""
    spec = ModelSpec("test_efficientnet", ("a", "b"), default_preprocessing("test_efficientnet"))
    spec = dataclasses.replace(spec, preprocessing=spec.preprocessing.at_size(64))
    run = tmp_path / "run"
    RunDirectory(run).write_model(build_model(spec.architecture, 2, pretrained=False), spec)
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=1)
    return run, data


def test_a_damaged_model_onnx_is_one_error_line_and_is_left_alone(untrained):
    run, data = untrained
    damaged = np.random.default_rng(0).bytes(2048)
    (run / "model.onnx").write_bytes(damaged)
    for command in (
        ["predict", run, data],
        ["predict", run, data, "--runtime", "onnx"],
        ["evaluate", run, data, "--out", run.parent / "eval", "--runtime", "onnx"],
    ):
        line = one_error_line(invoke(*command))
        assert line.startswith(f"error: {run / 'model.onnx'}: not a readable ONNX model (")
    assert (run / "model.onnx").read_bytes() == damaged
    assert invoke("predict", run, data, "--runtime", "torch").exit_code == 0


def test_a_foreign_onnx_file_or_one_of_another_input_is_one_error_line(untrained, tmp_path):
    run, data = untrained
    foreign = onnx_file(tmp_path / "foreign.onnx")
    line = one_error_line(invoke("predict", foreign, data))
    assert line.startswith(f"error: {foreign}: not a model exported by imclass")
    spec = RunDirectory(run).read_spec()
    other = dataclasses.replace(spec, preprocessing=spec.preprocessing.at_size(96))
    metadata = ExportDescription(other, "0" * 64).to_metadata()
    wrong = onnx_file(tmp_path / "wrong.onnx", metadata=metadata, size=64)
    line = one_error_line(invoke("predict", wrong, data))
    assert line.startswith(f"error: {wrong}: takes 'pixels' of tensor(uint8)")
    assert "N x 3 x 96 x 96" in line
