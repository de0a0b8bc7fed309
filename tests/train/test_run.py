"""Real training runs on tiny generated images with the real pretrained backbone."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file
from tests.helpers import colour_image, jpeg_bytes, make_image_folder, png_header_only

from imclass import ImageClassifier, TrainConfig
from imclass.models import DEFAULT_MODEL
from imclass.progress import Reporter
from imclass.train.run import train_run

# Every test here trains the real backbone (a few seconds to a minute each on a CPU).
pytestmark = pytest.mark.slow

TINY = dict(image_size=64, head_epochs=4, epochs=1, batch_size=8, workers=0)
# weights of the default model that phase 2 trains: each joined body's last block and BatchNorm
LATE = [
    f"parts.{i}.{name}" for i in (0, 1) for name in ("blocks.6.0.conv_pwl.weight", "bn2.weight")
]
BAD_FILES = {
    "zero.jpg": "zero bytes",
    "text.png": "not an image",
    "bomb.png": "decompression bomb",
    "cut.jpg": "truncated",
}


def add_unreadable_files(folder):
    """One file of each unreadable kind, spread over both classes."""
    (folder / "red" / "zero.jpg").write_bytes(b"")
    (folder / "red" / "text.png").write_text("hello\n" * 20)
    (folder / "blue" / "bomb.png").write_bytes(png_header_only(30000, 30000))
    full = jpeg_bytes(colour_image((40, 60, 200), 128))
    (folder / "blue" / "cut.jpg").write_bytes(full[: len(full) // 2])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    data = make_image_folder(root / "data", ("red", "blue"), per_class=12)
    add_unreadable_files(data)
    # samples every 0.1 s: this training can end in under 2 s (the default interval), and the
    # report is written before the last sample
    reporter = Reporter(quiet=True)
    result = train_run(data, TrainConfig(**TINY), root / "run", reporter, monitor_every=0.1)
    return data, result


def test_run_directory_is_complete(trained):
    _, result = trained
    names = {p.name for p in result.run_dir.iterdir()}
    assert {
        "model.safetensors",
        "model.json",
        "config.yaml",
        "history.csv",
        "metrics.json",
        "report.html",
        "predictions.csv",
    } <= names
    assert "checkpoint.safetensors" not in names  # removed once finished
    spec = json.loads((result.run_dir / "model.json").read_text())
    assert spec["classes"] == ["blue", "red"] and spec["architecture"] == DEFAULT_MODEL
    assert spec["image_size"] == 64 and spec["mean"] == [0.5, 0.5, 0.5]
    assert spec["multilabel"] is False and spec["imclass_version"]
    assert spec["temperature"] == result.metrics["temperature"] > 0
    assert 0 <= result.metrics["expected_calibration_error_unscaled"] <= 1


def test_a_probe_right_on_every_validation_image_skips_phase_2(trained):
    _, result = trained
    lines = (result.run_dir / "history.csv").read_text().splitlines()
    assert lines[0].startswith("phase,epoch,train_loss,train_accuracy,valid_loss,valid_accuracy")
    # the probe already classifies every validation image: phase 2 cannot beat it, so it is
    # not run; the verdict is recorded and the probe refitted on every image
    phases = [line.split(",")[0] for line in lines[1:]]
    assert phases == ["probe", "probe kept", "refit probe"]
    assert result.best_epoch == "refit probe 1"


def test_a_ctrl_c_swallowed_during_the_first_pass_stops_a_run_that_skips_phase_2(
    tmp_path, monkeypatch
):
    """Python swallows a KeyboardInterrupt raised in a __del__ or weakref callback; the CLI's
    handler notes the Ctrl-C first and the next safe point raises it again. With phase 2
    skipped (the probe is right on every validation image) its epochs are no safe point: the
    run used to go on to the end (a `compare` then ran every remaining cell)."""
    from imclass.errors import TrainingInterrupted
    from imclass.progress import forget_interrupt, note_interrupt
    from imclass.train.trainer import Trainer

    real = Trainer._probe_head

    def swallowed_ctrl_c(self, train, valid):
        real(self, train, valid)
        note_interrupt()  # what cli/group.py's handler does before its exception is lost

    monkeypatch.setattr(Trainer, "_probe_head", swallowed_ctrl_c)
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    try:
        with pytest.raises(TrainingInterrupted, match="--resume"):
            train_run(data, TrainConfig(**TINY), tmp_path / "run", Reporter(quiet=True))
    finally:
        forget_interrupt()
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["probe"]  # stopped after it


def test_phase_2_that_does_not_beat_the_probe_gives_way_to_it(tmp_path, monkeypatch):
    """Saved: the probe on the pretrained body, with the probe's validation figures."""
    from imclass.models.heads import build_model
    from imclass.train.trainer import Trainer

    # phase 2 runs although the probe is right on every validation image; it ties, and loses
    monkeypatch.setattr(Trainer, "_probe_unbeatable", lambda self: False)
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    result = train_run(data, TrainConfig(**TINY), tmp_path / "run", Reporter(quiet=True))
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["phase"] for r in rows] == [
        "probe",
        "finetune",
        "average",
        "probe kept",
        "refit probe",
    ]
    assert float(rows[-2]["valid_accuracy"]) == float(rows[0]["valid_accuracy"]) == 1.0
    assert rows[-1]["valid_accuracy"] == "nan"  # refitted on every image: nothing to validate
    assert result.best_epoch == "refit probe 1"  # what is saved: the probe on all 16 images
    # the validation figures and the temperature are those of the probe it was judged by
    assert result.metrics["n_images"] == 4
    saved = load_file(str(result.run_dir / "model.safetensors"))
    pretrained = build_model(DEFAULT_MODEL, 2, "gem").state_dict()
    for name in LATE:  # trainable in phase 2, back to their start
        assert (saved[name] - pretrained[name]).abs().max() == 0


def test_phase_2_that_beats_the_probe_on_validation_is_kept(tmp_path, monkeypatch):
    """A probe made to misclassify every validation image: phase 2 beats it and stays."""
    from imclass.train.trainer import Trainer

    real = Trainer._probe_head

    def wrong_probe(self, train, valid):
        real(self, train, valid)
        probe = self.probe_valid
        self.probe_valid = type(probe)(-probe.values, probe.labels, probe.indices, [])

    monkeypatch.setattr(Trainer, "_probe_head", wrong_probe)
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    result = train_run(data, TrainConfig(**TINY), tmp_path / "run", Reporter(quiet=True))
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["phase"] for r in rows] == ["probe", "finetune", "average"]
    assert result.best_epoch == "average 1"
    # each epoch's wait for data is recorded
    assert 0 <= float(rows[1]["data_wait_fraction"]) < 1
    assert float(rows[0]["data_wait_fraction"]) == 0  # on cached features: no loading


def test_the_machine_is_sampled_into_system_csv_with_its_documented_columns(trained):
    _, result = trained
    with (result.run_dir / "system.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    host = ["cpu_percent", "process_cpu_percent", "memory_used_mb", "memory_total_mb"]
    host += ["process_memory_mb"]
    assert list(rows[0])[:6] == ["time", *host]
    gpu = r"gpu\d+_(util_percent|memory_used_mb|memory_total_mb|temperature_c|power_w)"
    others = [c for c in list(rows[0])[6:] if c != "disk_read_mb_s" and not re.fullmatch(gpu, c)]
    assert others == []
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in ["time", *host, "disk_read_mb_s", "gpuN_power_w"])
    assert len(rows) >= 1  # the last sample is taken when training ends
    for row in rows:
        assert float(row["time"]) > 1.6e9  # Unix time
        assert 0 <= float(row["cpu_percent"]) <= 100 and float(row["process_cpu_percent"]) >= 0
        assert 0 < float(row["process_memory_mb"]) < float(row["memory_total_mb"])
        assert 0 < float(row["memory_used_mb"]) < float(row["memory_total_mb"])
    assert 'id="system"' in (result.run_dir / "report.html").read_text()


def test_refit_trains_again_on_all_images_and_keeps_the_first_temperature(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    config = TrainConfig(**{**TINY, "refit": True, "finetune_must_win": False})
    result = train_run(data, config, tmp_path / "run", Reporter(quiet=True))
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["phase"] for r in rows] == [
        "probe",
        "finetune",
        "average",
        "refit probe",
        "refit finetune",
        "refit average",
    ]
    assert rows[3]["valid_accuracy"] == "nan"  # nothing left to validate on
    spec = json.loads((result.run_dir / "model.json").read_text())
    assert spec["temperature"] == result.metrics["temperature"]
    assert result.metrics["n_images"] == 4  # the validation figures are the first pass's


def test_a_refit_after_the_probe_was_kept_refits_the_probe_alone(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    config = TrainConfig(**{**TINY, "refit": True})
    result = train_run(data, config, tmp_path / "run", Reporter(quiet=True))
    phases = [r["phase"] for r in csv.DictReader((result.run_dir / "history.csv").open())]
    assert phases == ["probe", "probe kept", "refit probe"]


def test_wise_alpha_moves_phase_2_back_to_its_start(tmp_path):
    """wise_alpha 0: the saved body is the pretrained one again (phase 2's start);
    0.5: halfway between start and fine-tuned weights."""
    from imclass.models.heads import build_model

    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    pretrained = build_model(DEFAULT_MODEL, 2, "gem").state_dict()
    saved = {}
    for alpha in (0.0, 0.5, 1.0):
        config = TrainConfig(**{**TINY, "wise_alpha": alpha, "finetune_must_win": False})
        result = train_run(data, config, tmp_path / f"run{alpha}", Reporter(quiet=True))
        saved[alpha] = load_file(str(result.run_dir / "model.safetensors"))
        phases = [r["phase"] for r in csv.DictReader((result.run_dir / "history.csv").open())]
        assert phases == ["probe", "finetune"] + (["average"] if alpha < 1 else [])
    for name in LATE:
        moved = saved[1.0][name] - pretrained[name]
        assert moved.abs().max() > 0
        assert (saved[0.0][name] - pretrained[name]).abs().max() <= 1e-7
        off = saved[0.5][name] - (pretrained[name] + moved / 2)
        assert off.abs().max() <= 1e-3 * moved.abs().max() + 1e-8, name


def test_separable_classes_are_learned(trained):
    _, result = trained
    assert result.metrics["accuracy"] == 1.0
    assert result.metrics["confusion_matrix"][0][1] == 0


def test_each_kind_of_unreadable_file_is_skipped_with_its_reason(trained):
    _, result = trained
    bad = {os.path.basename(p): reason for p, reason in result.trainer.state.bad_files.items()}
    assert set(bad) <= set(BAD_FILES)  # files that landed in validation or training alike
    assert len(bad) == 4
    for name, reason in bad.items():
        assert BAD_FILES[name] in reason


def test_saved_weights_are_safetensors_not_pickles(trained):
    _, result = trained
    state = load_file(str(result.run_dir / "model.safetensors"))
    assert "classifier.weight" in state  # one head over both bodies: 1280 + 1280 channels
    assert tuple(state["classifier.weight"].shape) == (2, 2560)


def test_save_load_round_trip_gives_the_same_predictions(trained, tmp_path):
    data, result = trained
    paths = (
        sorted((data / "red").glob("red_*.png"))[:3]
        + sorted((data / "blue").glob("blue_*.png"))[:3]
    )
    first = ImageClassifier.load(result.run_dir, verbose=False)
    before = first.predict_proba(paths)
    first.save(tmp_path / "copy")
    after = ImageClassifier.load(tmp_path / "copy", verbose=False).predict_proba(paths)
    np.testing.assert_allclose(before, after, rtol=0, atol=1e-6)
    assert first.predict(paths) == ["red"] * 3 + ["blue"] * 3
    assert np.allclose(before.sum(1), 1.0)


def test_unreadable_file_in_predict_is_a_nan_row_not_a_crash(trained):
    data, result = trained
    clf = ImageClassifier.load(result.run_dir, verbose=False)
    probs = clf.predict_proba([data / "red" / "red_0.png", data / "red" / "zero.jpg"])
    assert not np.isnan(probs[0]).any() and np.isnan(probs[1]).all()
    assert clf.predict([data / "red" / "zero.jpg"]) == [None]


def checkpoint_epochs(path) -> int:
    try:
        with safe_open(str(path), framework="pt") as handle:
            state = json.loads(handle.metadata()["state"])
    except Exception:  # noqa: BLE001 - not written yet
        return -1
    return state["epochs_done"] if state["phase"] == "finetune" else -1


def imclass(*args, **kwargs):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.Popen(
        [sys.executable, "-m", "imclass", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_killed_training_resumes_to_the_same_result(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=24)
    common = [
        "--image-size",
        "64",
        "--head-epochs",
        "2",
        "--epochs",
        "5",
        "--batch-size",
        "8",
        "--workers",
        "0",
        "--seed",
        "3",
        # phase 2 must run (the probe is right on every generated image, which would skip
        # it), and the refit must then fit its probe on the first pass's checkpointed features
        "--no-finetune-must-win",
        "--refit",
    ]
    killed = imclass("train", str(data), "--out", str(tmp_path / "killed"), *common)
    deadline = time.time() + 240
    while checkpoint_epochs(tmp_path / "killed" / "checkpoint.safetensors") < 2:
        assert killed.poll() is None, killed.stderr.read()
        assert time.time() < deadline
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert (tmp_path / "killed" / "model.safetensors").is_file()  # usable while interrupted

    resumed = imclass("train", "--resume", str(tmp_path / "killed"))
    out, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err
    assert "resuming" in err
    assert not (tmp_path / "killed" / "checkpoint.safetensors").exists()

    straight = imclass("train", str(data), "--out", str(tmp_path / "straight"), *common)
    straight.communicate(timeout=240)
    # the same rows and the same weights, the refit's included
    history, again = (
        [row.split(",")[:2] for row in (run / "history.csv").read_text().splitlines()[1:]]
        for run in (tmp_path / "killed", tmp_path / "straight")
    )
    first = [["probe", "1"]] + [["finetune", str(e)] for e in range(1, 6)] + [["average", "1"]]
    assert history == first + [[f"refit {phase}", epoch] for phase, epoch in first] == again
    a = load_file(str(tmp_path / "killed" / "model.safetensors"))
    b = load_file(str(tmp_path / "straight" / "model.safetensors"))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_a_label_file_root_given_as_a_path_is_recorded_and_read_back(tmp_path):
    """Library callers pass LabelOptions(root=Path): config.yaml holds it as text."""
    from imclass.data.dataset import LabelOptions
    from imclass.train.run import read_config

    photos = make_image_folder(tmp_path / "photos", ("red", "blue"), per_class=6)
    lists = tmp_path / "lists"
    lists.mkdir()
    rows = [f"{p},{p.parent.name}" for p in sorted(photos.rglob("*.png"))]
    (lists / "labels.csv").write_text("filename,labels\n" + "\n".join(rows) + "\n")
    options = LabelOptions(root=tmp_path)
    config = TrainConfig(**{**TINY, "epochs": 0})
    train_run(lists / "labels.csv", config, tmp_path / "run", Reporter(quiet=True), options)
    _, _, read = read_config(tmp_path / "run")
    assert read.root == str(tmp_path)


class KilledBeforeCheckpoint(Exception):
    """Stands for SIGKILL after an epoch's history row and before its checkpoint."""


def test_a_kill_between_history_row_and_checkpoint_keeps_no_row_twice(tmp_path, monkeypatch):
    """history.csv gets an epoch's row before the epoch's checkpoint is written; the resumed run
    trains that epoch again, and used to add its row a second time (seen under torchrun)."""
    from imclass.train import trainer as trainer_module
    from imclass.train.run import resume_run

    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=8)
    config = TrainConfig(
        image_size=64, epochs=3, batch_size=8, workers=0, flip_tta=False, finetune_must_win=False
    )
    real = trainer_module.Trainer._checkpoint

    def killed_after_second_epoch(self, optimizer):
        if self.state.phase == "finetune" and self.state.epochs_done == 2:
            raise KilledBeforeCheckpoint
        real(self, optimizer)

    monkeypatch.setattr(trainer_module.Trainer, "_checkpoint", killed_after_second_epoch)
    with pytest.raises(KilledBeforeCheckpoint):
        train_run(data, config, tmp_path / "run", Reporter(quiet=True))
    monkeypatch.setattr(trainer_module.Trainer, "_checkpoint", real)
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[:2] for row in rows][-1] == ["finetune", "2"]  # no checkpoint of it

    resume_run(tmp_path / "run", Reporter(quiet=True))
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[:2] for row in rows] == (
        [["probe", "1"]] + [["finetune", str(e)] for e in (1, 2, 3)] + [["average", "1"]]
    )


def test_a_refit_probe_killed_after_its_checkpoint_resumes_without_fine_tuning(
    tmp_path, monkeypatch
):
    """The refit of a kept probe runs no phase 2; a resume from its last checkpoint neither."""
    from imclass.train import trainer as trainer_module
    from imclass.train.run import resume_run

    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=8)
    real = trainer_module.Trainer._checkpoint

    def killed_after_the_refit_probe(self, optimizer):
        real(self, optimizer)
        if self.state.refit and self.state.phase == "finetune":
            raise KilledBeforeCheckpoint  # here: killed just after it

    monkeypatch.setattr(trainer_module.Trainer, "_checkpoint", killed_after_the_refit_probe)
    with pytest.raises(KilledBeforeCheckpoint):
        train_run(data, TrainConfig(**TINY), tmp_path / "run", Reporter(quiet=True))
    monkeypatch.setattr(trainer_module.Trainer, "_checkpoint", real)
    result = resume_run(tmp_path / "run", Reporter(quiet=True))
    phases = [r["phase"] for r in csv.DictReader((result.run_dir / "history.csv").open())]
    assert phases == ["probe", "probe kept", "refit probe"]
    assert result.best_epoch == "refit probe 1"
