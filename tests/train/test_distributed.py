"""Training under torchrun: the processes' shares, and real 2-process gloo runs on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml
from tests.helpers import free_port, image_set, make_image_folder

from imclass.errors import ConfigError
from imclass.inference.batches import Outputs
from imclass.models.run_dir import RunDirectory
from imclass.train.distributed import World, timeout_seconds

SRC = Path(__file__).resolve().parents[2] / "src"


def torchrun(nproc: int, *args, port: int | None = None) -> list[str]:
    """torchrun on loopback with no restarts, as the README shows it, then ARGS."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={nproc}",
        "--master-addr=127.0.0.1",
        f"--master-port={port or free_port()}",
        "--max-restarts=0",
        *map(str, args),
    ]


def environment(**more) -> dict:
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=path, PYTHONUNBUFFERED="1", **more)


# ---- one process's view --------------------------------------------------------------------


def test_the_world_is_what_torchrun_says_or_one_process():
    assert World.from_environment({}) == World(0, 0, 1, 1)
    seen = World.from_environment(
        {"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"}
    )
    assert seen == World(3, 1, 4, 2) and seen.distributed and not seen.is_main
    with pytest.raises(ConfigError, match="torchrun's environment"):
        World.from_environment({"RANK": "x"})


def test_the_batch_size_is_global_and_the_schedule_keeps_its_steps():
    one, two, three = World(), World(0, 0, 2, 2), World(0, 0, 3, 3)
    assert (one.batch_per_process(32), two.batch_per_process(32)) == (32, 16)
    assert three.batch_per_process(32) == 11  # rounded up: 33 images a step in all
    for images in (1, 31, 32, 33, 195, 244):
        assert two.batches_per_epoch(images, 32) == one.batches_per_epoch(images, 32)
        assert one.batches_per_epoch(images, 32) == -(-images // 32)
    assert "batch 16 per process = 32 in all" in two.describe(32, 1e-4)


def test_shares_divide_the_images_and_one_process_gathers_nothing():
    images = image_set([0, 1, 0, 1, 0])
    assert World(1, 1, 2, 2).share(images).paths == images.paths[1::2]
    assert World().share(images) == images
    out = Outputs(torch.ones(2, 3), torch.tensor([0, 1]), torch.tensor([0, 1]), [(2, "cut")])
    assert World().gather(out) is out


def test_each_process_takes_the_gpu_of_its_local_rank_or_is_told_why_not():
    assert World(1, 1, 2, 2).device("cpu") == "cpu"
    assert World().device("cuda") == "cuda"
    if torch.cuda.device_count() < 2:
        with pytest.raises(ConfigError, match="no GPU of its own"):
            World(1, 1, 2, 2).device("cuda")


def test_the_collective_timeout_comes_from_the_environment():
    assert timeout_seconds({}) == 300
    assert timeout_seconds({"IMCLASS_DIST_TIMEOUT": "12.5"}) == 12.5
    for bad in ("soon", "0", "-3"):
        with pytest.raises(ConfigError, match="IMCLASS_DIST_TIMEOUT"):
            timeout_seconds({"IMCLASS_DIST_TIMEOUT": bad})


def test_nproc_runs_torchrun_with_the_same_arguments_less_nproc():
    from imclass.cli.train import torchrun_command

    command = torchrun_command(2, ["train", "data", "--nproc", "2", "--epochs=1", "--nproc=2"])
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command and "--max-restarts=0" in command
    assert command[command.index("-m", 3) :] == ["-m", "imclass", "train", "data", "--epochs=1"]


# ---- two gloo processes ----------------------------------------------------------------------

GATHER = """
    import json, pathlib, sys, torch
    from imclass.inference.batches import Outputs
    from imclass.train.distributed import World, process_group

    world = World.from_environment()
    with process_group(world):
        # rank 0 holds images 0, 2, 4 (the one at 2 unreadable), rank 1 images 1 and 3
        share = {0: [0, 4], 1: [1, 3]}[world.rank]
        local = torch.tensor([i // 2 for i in share])  # positions within the share
        values = torch.tensor([[10.0 * i, i] for i in share])
        failures = [(1, "cut")] if world.is_main else []
        out = world.gather(Outputs(values, torch.tensor(share), local, failures))
        named = world.from_main(lambda: "run-" + str(world.rank))
        # one file a rank: two processes' prints can interleave on torchrun's shared stdout
        row = [out.values.tolist(), out.indices.tolist(), out.labels.tolist(), out.failures, named]
        pathlib.Path(sys.argv[1], f"rank{world.rank}.json").write_text(json.dumps(row))
"""


@pytest.mark.slow  # two processes that import torch and join over loopback: ~10 s on 2 cores
def test_two_processes_gather_every_row_in_order(tmp_path):
    script = tmp_path / "gather.py"
    script.write_text(textwrap.dedent(GATHER))
    done = subprocess.run(
        torchrun(2, script, tmp_path),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    for rank in (0, 1):
        values, indices, labels, failures, named = json.loads(
            (tmp_path / f"rank{rank}.json").read_text()
        )
        assert values == [[0.0, 0], [10.0, 1], [30.0, 3], [40.0, 4]], rank
        assert indices == labels == [0, 1, 3, 4]
        assert failures == [[2, "cut"]] and named == "run-0"


# ---- real training runs ----------------------------------------------------------------------


def train_command(data, *args) -> list[str]:
    return ["-m", "imclass", "train", data, "--model=tf_efficientnet_lite0", *args]


@pytest.mark.slow  # two lite0 trainings at 128 px on 244 photos and their evaluations: ~2 min
def test_two_processes_train_as_well_as_one(tmp_path, shared_data):
    from imclass.evaluate.evaluator import evaluate_run
    from imclass.progress import Reporter

    bees = shared_data / "hymenoptera"
    settings = ["--image-size=128", "--epochs=2", "--batch-size=32", "--workers=0", "--seed=0"]
    one = subprocess.run(
        [sys.executable, *train_command(bees / "train", "--out", tmp_path / "one", *settings)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        torchrun(2, *train_command(bees / "train", *settings)),
        env=environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr
    runs = list((tmp_path / "runs").iterdir())  # the default name holds the time: rank 0's
    assert len(runs) == 1 and not (runs[0] / "checkpoint.safetensors").exists()
    assert "batch 16 per process = 32 in all" in two.stderr
    resolved = yaml.safe_load((runs[0] / "config.yaml").read_text())["resolved"]
    assert (resolved["world_size"], resolved["batch_per_process"]) == (2, 16)
    quiet = Reporter(quiet=True)
    held_out = [
        evaluate_run(run, bees / "val", tmp_path / f"eval-{i}", quiet)["accuracy"]
        for i, run in enumerate([tmp_path / "one", runs[0]])
    ]
    print(f"held-out accuracy: 1 process {held_out[0]:.4f}, 2 processes {held_out[1]:.4f}")
    assert held_out[0] > 0.85 and abs(held_out[0] - held_out[1]) <= 0.02


def checkpointed_epochs(run: Path) -> int:
    """Fine-tuning epochs in the run's checkpoint so far (0 before there is one)."""
    history = run / "history.csv"
    if not (run / "checkpoint.safetensors").exists() or not history.exists():
        return 0
    return history.read_text().count("\nfinetune,")


def rank_process(launcher: subprocess.Popen, rank: int, timeout: float = 120):
    """The worker process torchrun started for rank (found by its environment)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(launcher.pid).children(recursive=True):
            try:
                if child.environ().get("RANK") == str(rank):
                    return child
            except psutil.Error:
                continue
        time.sleep(0.2)
    raise AssertionError(f"no process of rank {rank} in {timeout} s")


@pytest.mark.slow  # a 2-process training killed after one epoch, then resumed: ~1-3 min
def test_killing_one_worker_fails_the_run_with_a_resumable_checkpoint(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "green", "blue"), per_class=16, size=64)
    run = tmp_path / "run"
    settings = ["--image-size=64", "--epochs=8", "--batch-size=8", "--workers=0", "--out", run]
    settings.append("--no-finetune-must-win")  # the probe is right on every image: phase 2 runs
    launcher = subprocess.Popen(  # --nproc: this process becomes torchrun (--standalone)
        [sys.executable, *train_command(data, *settings, "--nproc", "2")],
        env=environment(IMCLASS_DIST_TIMEOUT="60"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        worker = rank_process(launcher, 1)
        deadline = time.monotonic() + 300
        while checkpointed_epochs(run) < 1 and launcher.poll() is None:
            assert time.monotonic() < deadline, "no epoch finished in 300 s"
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        output, _ = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.communicate()
    print(f"torchrun ended {time.monotonic() - killed_at:.1f} s after the kill")
    assert launcher.returncode != 0, output
    assert "Signal 9 (SIGKILL)" in output, output
    assert f"imclass train --resume {run}" in output, output
    # the checkpoint's count: the kill may fall between an epoch's history row and its
    # checkpoint, and the resumed run then trains that epoch again (its row is not kept twice)
    done_before = RunDirectory(run).read_checkpoint().state["epochs_done"]
    assert 0 <= done_before < 8
    resumed = subprocess.run(
        [sys.executable, "-m", "imclass", "train", "--resume", run],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} epoch(s) done" in resumed.stderr
    assert not (run / "checkpoint.safetensors").exists()
    assert (run / "history.csv").read_text().count("\nfinetune,") == 8
