import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from imclass.experiments.compare import Candidate, CompareSettings, summary
from imclass.experiments.pareto import pareto_front
from imclass.experiments.speed import SpeedSettings, count_gflops, count_parameters, measure_speed
from imclass.train.config import TrainConfig
from tests.helpers import invoke, make_image_folder, one_error_line

CHEAP = ("--set", "epochs=1", "--set", "batch_size=8", "--set", "flip_tta=false")
CHEAP += ("--set", "wise_alpha=1.0")


def test_pareto_front_on_a_hand_made_table():
    table = [
        {"name": "fast", "accuracy": 0.80, "latency_ms_median": 5.0},
        {"name": "slow and best", "accuracy": 0.95, "latency_ms_median": 40.0},
        {"name": "dominated", "accuracy": 0.85, "latency_ms_median": 30.0},
        {"name": "middle", "accuracy": 0.90, "latency_ms_median": 20.0},
        {"name": "middle's twin", "accuracy": 0.90, "latency_ms_median": 20.0},
        {"name": "as accurate, slower", "accuracy": 0.90, "latency_ms_median": 25.0},
        {"name": "as fast, less accurate", "accuracy": 0.70, "latency_ms_median": 5.0},
        {"name": "skipped", "accuracy": None, "latency_ms_median": None},
        {"name": "no latency", "accuracy": 0.99, "latency_ms_median": float("nan")},
    ]
    front = [row["name"] for row, on in zip(table, pareto_front(table), strict=True) if on]
    assert front == ["fast", "slow and best", "middle", "middle's twin"]


def test_pareto_front_takes_any_two_columns():
    table = [{"f1": 0.5, "gflops": 1.0}, {"f1": 0.6, "gflops": 2.0}, {"f1": 0.4, "gflops": 3.0}]
    assert pareto_front(table, higher="f1", lower="gflops") == [True, True, False]
    assert pareto_front([]) == []


def test_flops_and_parameters_of_a_known_network():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 30 * 30, 2))
    conv = 2 * (8 * 30 * 30) * (3 * 3 * 3)  # a multiply-add per kernel weight and output
    linear = 2 * (8 * 30 * 30) * 2
    assert count_gflops(net, 32) == pytest.approx((conv + linear) / 1e9)
    assert count_parameters(net) == (8 * 27 + 8) + (8 * 30 * 30 * 2 + 2)


def test_speed_figures_are_measured_on_the_device_asked_for():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    settings = SpeedSettings(latency_calls=7, warmup_calls=1, batch_size=4, batch_calls=2)
    speed = measure_speed(net, 32, torch.device("cpu"), settings)
    assert 0 < speed.latency_ms_median <= speed.latency_ms_p95
    assert speed.throughput_ips > 0
    assert (speed.device, speed.threads) == ("cpu", torch.get_num_threads())
    assert (speed.latency_calls, speed.batch_size) == (7, 4)


def read_table(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def interrupted_after_the_first_cell(args, out, logs):
    """`imclass ARGS` as a process, sent SIGINT (Ctrl-C) once the first cell is timed."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "imclass", *map(str, args)]
    with open(logs / "out", "w") as stdout, open(logs / "err", "w") as stderr:
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        first = out / "points" / "tf_efficientnet_lite0-64" / "speed.json"
        give_up = time.monotonic() + 600  # a guard against a hang, not a timing assertion
        while not first.exists() and process.poll() is None and time.monotonic() < give_up:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        code = process.wait(120)
    return code, (logs / "out").read_text(), (logs / "err").read_text()


@pytest.mark.slow  # trains tf_efficientnet_lite0 two and a half times on 18 images: ~2 min
def test_compare_skips_an_offline_unusable_model_stops_on_ctrl_c_and_resumes(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=12, size=64)
    out = tmp_path / "cmp"
    args = ("compare", data, "--models", "tf_efficientnet_lite0,resnet18", "--out", out)
    args += ("--image-sizes", "64,96", *CHEAP)
    code, stdout, stderr = interrupted_after_the_first_cell(args, out, tmp_path)
    assert "skipped resnet18: no pretrained weights here: the Hugging Face hub is offline" in stdout
    assert code == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted; finished points are kept in {out / 'points'}: run the same command "
        "again to resume (they are not trained or timed again)"
    )
    # the finished cell is kept: not trained (its weights are gone) nor timed (read back) again
    first = out / "points" / "tf_efficientnet_lite0-64"
    (first / "seed-0" / "run" / "model.safetensors").unlink()
    speed = json.loads((first / "speed.json").read_text())
    (first / "speed.json").write_text(json.dumps(speed | {"latency_ms_median": 0.5}))

    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "resnet18" in result.stdout and "skipped" in result.stdout
    rows = read_table(out / "compare.csv")
    assert list(rows[0]) == [
        "model",
        "image_size",
        "accuracy",
        "accuracy_std",
        "train_seconds",
        "latency_ms_median",
        "latency_ms_p95",
        "throughput_ips",
        "params_m",
        "gflops",
        "pareto",
    ]
    assert [(r["model"], r["image_size"]) for r in rows] == [
        ("tf_efficientnet_lite0", "64"),
        ("tf_efficientnet_lite0", "96"),
    ]
    assert [r["accuracy"] for r in rows] == ["1", "1"]  # red against blue
    assert [r["accuracy_std"] for r in rows] == ["", ""]  # one repeat
    small, large = rows
    assert (small["latency_ms_median"], small["pareto"]) == ("0.5", "true")
    assert 3.3 < float(small["params_m"]) < 3.4  # lite0's body and a 2-class head
    assert float(large["gflops"]) / float(small["gflops"]) == pytest.approx(96**2 / 64**2, 0.05)
    assert 0 < float(large["latency_ms_median"]) <= float(large["latency_ms_p95"])
    assert float(large["throughput_ips"]) > 0 and float(large["train_seconds"]) > 0
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_model_is_one_line_with_a_suggestion(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=2, size=32)
    line = one_error_line(
        invoke("compare", data, "--models", "tf_efficientnet_lite9", "--out", tmp_path / "o")
    )
    assert "unknown model 'tf_efficientnet_lite9'" in line and "Did you mean" in line
    assert not (tmp_path / "o").exists()


def test_no_usable_model_is_an_error(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=2, size=32)
    line = one_error_line(invoke("compare", data, "--models", "resnet18", "--out", tmp_path / "o"))
    assert line.startswith("error: no model of --models can be used here; resnet18: no pretrained")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--set", "model=resnet50"), "--set model: the grid sets it"),
        (("--image-sizes", "224,big"), "'image_sizes' parameter of compare must be comma-sep"),
        (("--image-sizes", "8"), "'image_size' parameter of train must be an int in [16, 1024]"),
    ],
)
def test_grid_settings_are_checked_before_any_work(tmp_path, option, message):
    data = make_image_folder(tmp_path / "data", per_class=2, size=32)
    args = ("compare", data, "--models", "tf_efficientnet_lite0", "--out", tmp_path / "o")
    assert message in one_error_line(invoke(*args, *option))
    assert not (tmp_path / "o").exists()


def test_repeats_train_with_successive_seeds_and_give_mean_and_sample_std():
    settings = CompareSettings(TrainConfig(seed=2), repeats=3)
    assert list(settings.seeds()) == [2, 3, 4]
    config = settings.config_for(Candidate("tf_efficientnet_lite0", 96), 3)
    assert (config.model, config.image_size, config.seed) == ("tf_efficientnet_lite0", 96, 3)
    points = [{"score": 0.9, "seconds": 10.0}, {"score": 0.8, "seconds": 20.0}]
    figures = summary(points)
    assert figures["accuracy"] == pytest.approx(0.85)
    assert figures["accuracy_std"] == pytest.approx(0.0707107, 1e-5)
    assert figures["train_seconds"] == 15.0
    assert summary(points[:1])["accuracy_std"] is None
