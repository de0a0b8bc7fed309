"""The command line as a user meets it: one-line errors, exit codes, real output files. Run in
this process; tests/cli/test_hostile.py keeps real processes where only a process shows it."""

import builtins
import json
import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.helpers import invoke, make_image_folder, one_error_line

from imclass.__main__ import run
from imclass.cli import main


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such file or folder"),
        ("empty", "no images found"),
        ("single", "only one class"),
    ],
)
def test_bad_data_folder_is_one_line_and_non_zero(tmp_path, setup, message):
    data = tmp_path / "photos"
    if setup == "empty":
        data.mkdir()
    elif setup == "single":
        make_image_folder(data, ("red",), per_class=3)
    result = invoke("train", data, "--out", tmp_path / "run")
    line = one_error_line(result)
    assert result.exit_code == 1 and line.startswith(f"error: {data}: ") and message in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a real training: ~10 s
def test_predict_on_a_trained_run_in_every_format(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    trained = invoke(
        "train",
        data,
        "--out",
        tmp_path / "run",
        "--image-size",
        "64",
        "--head-epochs",
        "3",
        "--epochs",
        "1",
        "--workers",
        "0",
    )
    assert trained.exit_code == 0, trained.exception or trained.stderr
    assert "validation accuracy" in trained.stdout
    (tmp_path / "bad.jpg").write_bytes(b"")
    as_json = invoke(
        "predict",
        tmp_path / "run",
        data / "red" / "red_0.png",
        tmp_path / "bad.jpg",
        "--format",
        "json",
        "--top-k",
        "2",
    )
    assert as_json.exit_code == 0, as_json.exception or as_json.stderr
    rows = {os.path.basename(r["path"]): r for r in json.loads(as_json.stdout)}
    assert rows["red_0.png"]["predictions"][0]["class"] == "red"
    assert len(rows["red_0.png"]["predictions"]) == 2
    assert rows["bad.jpg"]["error"] == "zero bytes"
    as_csv = invoke(
        "predict", tmp_path / "run", data / "blue", "--format", "csv", "--out", tmp_path / "p.csv"
    )
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert as_csv.exit_code == 0 and lines[0] == "path,class_1,prob_1,class_2,prob_2,error"
    assert len(lines) == 9 and all(",blue," in line for line in lines[1:])
    for samples in (tmp_path / "p.system.csv", tmp_path / "run" / "system.csv"):
        header, *rows = samples.read_text().splitlines()
        assert header.startswith("time,cpu_percent,process_cpu_percent,") and rows, samples
    unwatched = invoke(
        "predict",
        tmp_path / "run",
        data / "blue",
        "--out",
        tmp_path / "q.csv",
        "--monitor-every",
        "0",
    )
    assert unwatched.exit_code == 0 and (tmp_path / "q.csv").is_file()
    assert not (tmp_path / "q.system.csv").exists()
    evaluated = invoke("evaluate", tmp_path / "run", data, "--out", tmp_path / "eval")
    assert evaluated.exit_code == 0, evaluated.exception or evaluated.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n_images"] == 16 and metrics["accuracy"] == 1.0


def test_imagenet_prediction_needs_no_training(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    Image.fromarray(skimage_data.coffee()).save(tmp_path / "coffee.jpg")
    result = invoke("predict", "--imagenet", tmp_path / "coffee.jpg", "--format", "json")
    assert result.exit_code == 0, result.exception or result.stderr
    assert json.loads(result.stdout)[0]["predictions"][0]["class"] == "espresso"


def test_models_lists_the_offline_default():
    result = invoke("models")
    assert result.exit_code == 0, result.exception
    line = next(t for t in result.stdout.splitlines() if "(default)" in t)
    assert "tf_efficientnet_lite2+tf_efficientnet_lite1" in line
    assert "yes" in line and "320" in line


def test_the_cli_puts_back_the_warning_printer_and_the_sigterm_handler_it_replaces():
    """One-line warnings and kill -> "interrupted" while a command runs, no lasting change for
    a program calling it."""
    import signal

    before = warnings.showwarning
    terminate = signal.getsignal(signal.SIGTERM)
    assert CliRunner().invoke(main, ["models"]).exit_code == 0
    assert warnings.showwarning is before
    assert signal.getsignal(signal.SIGTERM) is terminate


def test_ctrl_c_while_the_cli_loads_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted_import(name, *args, **kwargs):
        if name == "imclass.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    with pytest.raises(SystemExit) as stopped:
        run()
    assert stopped.value.code == 130 and capsys.readouterr().err == "interrupted\n"
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '\nimclass = "imclass.__main__:run"\n' in pyproject  # the installed command
