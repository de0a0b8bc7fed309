"""`imclass sweep` end to end on a tiny data set: a 2 x 2 grid with 2 repeats trains each
configuration exactly twice, in SQLite or shared by two workers through a real PostgreSQL
server; a rerun trains nothing, an interrupted trial resumes with the repeats it finished; and
mistakes are one line."""

import csv
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter

import optuna
import pytest
import yaml

from imclass.errors import TrainingInterrupted
from imclass.experiments.sweep import plan_sweep, run_sweep
from imclass.progress import Reporter, forget_interrupt, note_interrupt
from imclass.train.config import parse_assignments, read_settings_file
from tests.helpers import free_port, invoke, make_image_folder, one_error_line

GRID = "label_smoothing: [0.0, 0.1]\nweight_decay: [0.0, 0.01]\n"
# probe-only trainings (epochs=0) on 64-px inputs: a few seconds each
CHEAP = ("epochs=0", "image_size=64", "batch_size=8", "flip_tta=false", "workers=0")
EVERY_TRAINING = {(ls, wd, seed): 1 for ls in (0.0, 0.1) for wd in (0.0, 0.01) for seed in (0, 1)}


def sweep_args(data, space, out, *more) -> list:
    cheap = [arg for setting in CHEAP for arg in ("--set", setting)]
    return ["sweep", data, "--space", space, "--out", out, "--repeats", "2", *cheap, *more]


def setup(tmp_path, space_text: str = GRID, per_class: int = 8):
    data = make_image_folder(tmp_path / "data", per_class=per_class, size=32)
    space = tmp_path / "sweep.yaml"
    space.write_text(space_text)
    return data, space


def trainings(*outs) -> Counter:
    """(label_smoothing, weight_decay, seed) of every training in the outputs' trial folders."""
    found = Counter()
    for out in outs:
        for config in (out / "trials").glob("*/run/config.yaml"):
            train = yaml.safe_load(config.read_text())["train"]
            found[(train["label_smoothing"], train["weight_decay"], train["seed"])] += 1
    return found


def table(out) -> list[dict]:
    with open(out / "sweep.csv", newline="") as file:
        return list(csv.DictReader(file))


def imclass_process(*args) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "imclass", *map(str, args)]
    pipe = subprocess.PIPE
    return subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe, text=True)


@pytest.mark.slow  # 8 trainings and a rerun: 56-114 s on 2 shared cores
def test_a_grid_sweep_trains_each_configuration_twice_and_a_rerun_trains_nothing(tmp_path):
    data, space = setup(tmp_path)
    out = tmp_path / "sweep"
    result = invoke(*sweep_args(data, space, out))
    assert result.exit_code == 0, result.output + result.stderr
    assert trainings(out) == EVERY_TRAINING
    rows = table(out)
    assert sorted((r["label_smoothing"], r["weight_decay"]) for r in rows) == [
        ("0.0", "0.0"), ("0.0", "0.01"), ("0.1", "0.0"), ("0.1", "0.01"),
    ]  # fmt: skip
    assert {(r["state"], r["repeats"]) for r in rows} == {("COMPLETE", "2")}
    for row in rows:  # the mean of the repeats' held-out scores, never the best of them
        folder = row["runs"].removesuffix("*")
        scores = [yaml.safe_load((out / f"{folder}{r}" / "point.json").read_text())["score"]
                  for r in (0, 1)]  # fmt: skip
        assert float(row["mean"]) == pytest.approx(statistics.fmean(scores), abs=1e-4)
    best = max(rows, key=lambda r: (float(r["mean"]), -float(r["std"]), -int(r["trial"])))
    settings = read_settings_file(out / "best_config.yaml")
    swept = (settings["label_smoothing"], settings["weight_decay"])
    assert swept == (float(best["label_smoothing"]), float(best["weight_decay"]))
    assert (settings["epochs"], settings["image_size"], settings["seed"]) == (0, 64, 0)
    for name in ("label_smoothing", "weight_decay"):
        assert (out / f"sweep_{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert "4 of 4 configurations trained (4 in this run)" in result.output

    points = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/point.json")}
    again = invoke(*sweep_args(data, space, out))
    assert again.exit_code == 0, again.output + again.stderr
    assert "4 of 4 configurations trained (0 in this run)" in again.output
    assert {p: p.stat().st_mtime_ns for p in out.glob("trials/*/point.json")} == points
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 4  # the rerun did not even ask for a trial
    assert table(out) == rows


class CtrlCSwallowedAfterLastTrial(Reporter):
    """Notes a Ctrl-C as the CLI's handler does when Python swallowed the KeyboardInterrupt,
    after the last trial's last safe point."""

    def line(self, text: str) -> None:
        super().line(text)
        if text.startswith("trial 0 ") and "repeat 1/1" in text:
            note_interrupt()


def test_a_ctrl_c_swallowed_during_the_last_trial_still_ends_with_the_resume_hint(tmp_path):
    data, space = setup(tmp_path, "label_smoothing: [0.1]\n")
    out = tmp_path / "sweep"
    plan = plan_sweep(data, space, out, settings=parse_assignments(CHEAP), repeats=1)
    try:
        with pytest.raises(TrainingInterrupted, match="same command again to resume the sweep"):
            run_sweep(plan, CtrlCSwallowedAfterLastTrial())
    finally:
        forget_interrupt()
    assert (out / "trials" / "0-0" / "point.json").is_file()


@pytest.mark.slow  # 3 trainings, 2 starts of imclass: 46-85 s on 2 shared cores
def test_an_interrupted_sweep_resumes_with_the_repeats_it_finished(tmp_path):
    data, space = setup(tmp_path, "label_smoothing: [0.1]\n")
    out = tmp_path / "sweep"
    process = imclass_process(*sweep_args(data, space, out))
    first = out / "trials" / "0-0" / "point.json"
    second = out / "trials" / "0-1" / "split.csv"  # written as the second repeat starts
    deadline = time.monotonic() + 300
    while not second.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert first.is_file() and second.is_file(), process.communicate()[1]
    process.send_signal(signal.SIGINT)  # during the second repeat
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"error: interrupted; run the same command again to resume the sweep in {out}"
    )
    finished = first.stat().st_mtime_ns

    result = invoke(*sweep_args(data, space, out))
    assert result.exit_code == 0, result.output + result.stderr
    assert "trials 0 did not finish: queued again" in result.stderr
    assert first.stat().st_mtime_ns == finished  # its first repeat was read back
    assert trainings(out) == {(0.1, 0.01, 0): 1, (0.1, 0.01, 1): 1}  # weight_decay: default
    assert [(r["trial"], r["state"], r["repeats"], r["runs"]) for r in table(out)] == [
        ("0", "FAIL", "1", "trials/0-*"),
        ("1", "COMPLETE", "2", "trials/0-*"),
    ]


@pytest.mark.slow  # 8 trainings by 2 processes: 95-111 s on 2 shared cores
def test_two_workers_share_a_postgresql_study_and_train_each_configuration_twice(
    tmp_path, postgresql
):
    data, space = setup(tmp_path)
    outs = [tmp_path / "worker0", tmp_path / "worker1"]
    shared = ("--storage", postgresql.url, "--study-name", "shared")
    workers = [imclass_process(*sweep_args(data, space, out, *shared)) for out in outs]
    for worker in workers:
        _, stderr = worker.communicate(timeout=900)
        assert worker.returncode == 0, stderr
    assert trainings(*outs) == EVERY_TRAINING  # each configuration trained exactly twice
    storage = postgresql.url.replace("postgresql://", "postgresql+psycopg://")
    study = optuna.load_study(study_name="shared", storage=storage)
    complete = [t.params for t in study.trials if t.state.name == "COMPLETE"]
    assert sorted(tuple(p.values()) for p in complete) == [
        (0.0, 0.0), (0.0, 0.01), (0.1, 0.0), (0.1, 0.01),
    ]  # fmt: skip
    assert len(table(outs[0]) + table(outs[1])) >= 4
    assert {r["state"] for r in table(outs[0]) + table(outs[1])} <= {"COMPLETE", "RUNNING"}


def test_an_unknown_setting_in_the_space_is_one_line(tmp_path):
    data, space = setup(tmp_path, "lable_smoothing: [0.0, 0.1]\n", per_class=2)
    result = invoke(*sweep_args(data, space, tmp_path / "sweep"))
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: {space}: unknown training setting 'lable_smoothing'. "
        "Did you mean 'label_smoothing'?"
    )
    assert not (tmp_path / "sweep").exists()


def test_an_empty_space_is_one_line(tmp_path):
    data, space = setup(tmp_path, "# nothing to sweep yet\n", per_class=2)
    result = invoke(*sweep_args(data, space, tmp_path / "sweep"))
    assert result.exit_code == 2
    assert one_error_line(result).startswith(f"error: {space}: the space is empty;")


def test_an_unreachable_postgresql_server_is_one_line_and_nothing_is_recorded(tmp_path):
    data, space = setup(tmp_path, per_class=4)
    url = f"postgresql://sweeper:hunter2@127.0.0.1:{free_port()}/sweeps"
    result = invoke(*sweep_args(data, space, tmp_path / "sweep", "--storage", url))
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line.startswith(
        f"error: --storage postgresql+psycopg://sweeper:***@127.0.0.1:{url.split(':')[3]}"
    )
    assert "Connection refused" in line and "start the database server or correct the URL" in line
    assert "hunter2" not in result.output + result.stderr
    assert not (tmp_path / "sweep" / "experiment.json").exists()  # a fixed URL may resume it
