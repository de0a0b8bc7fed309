"""A training run from start to finish: resolve settings, train, write the run directory.

The run directory's files (model, resolved config, history, validation figures, and the
checkpoint while training) are named, written and read by models/run_dir.py's RunDirectory.
Under torchrun every process runs this; rank 0 alone reads and writes the run directory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from imclass._version import __version__
from imclass.data.dataset import LabelOptions, open_data
from imclass.data.split import train_valid_sets
from imclass.errors import DistributedError, RunDirError, TrainingInterrupted
from imclass.evaluate.evaluator import write_evaluation
from imclass.evaluate.multilabel import tune_thresholds
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter
from imclass.system.log import read_system_log
from imclass.system.monitor import SAMPLE_EVERY, monitored
from imclass.train.config import TrainConfig
from imclass.train.distributed import World
from imclass.train.resolve import resolve
from imclass.train.trainer import Trainer


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    best_epoch: str
    seconds: float
    trainer: Trainer


def default_run_dir(data: Path | str, root: Path | str = "runs") -> Path:
    return Path(root) / f"{Path(data).resolve().stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def train_run(
    data: Path | str,
    config: TrainConfig,
    run_dir: Path | str | None = None,
    reporter: Reporter | None = None,
    options: LabelOptions | None = None,
    world: World | None = None,
    *,
    monitor_every: float = SAMPLE_EVERY,
) -> RunResult:
    """Train on DATA with config into run_dir; returns the validation metrics (world: this
    process's place under torchrun; the other processes' metrics are {}). The machine is
    sampled every monitor_every seconds into the run's system.csv (0: not at all; rank 0 only)."""
    world = world or World()
    reporter = _reporter(reporter, world)
    options = options or LabelOptions()
    run_dir = Path(run_dir) if run_dir else world.from_main(lambda: default_run_dir(data))
    trainer = _make_trainer(Path(data).resolve(), config, run_dir, reporter, options, world)
    if world.is_main:
        _write_config(Path(data).resolve(), trainer, options)
    start = time.perf_counter()
    system = trainer.directory.system_path
    with _interruptible(run_dir, world), monitored(reporter, system, every=monitor_every):
        trainer.fit()
        metrics = _validate_and_refit(trainer)
    return _finish(trainer, metrics, time.perf_counter() - start)


def resume_run(
    run_dir: Path | str,
    reporter: Reporter | None = None,
    world: World | None = None,
    *,
    monitor_every: float = SAMPLE_EVERY,
) -> RunResult:
    """Continue an interrupted run from its checkpoint (or from scratch if it made none yet),
    in as many processes as world says, whatever the number it was started with; system.csv
    goes on where it stopped (afresh if this machine has other columns)."""
    run_dir, world = Path(run_dir), world or World()
    data, config, options = world.from_main(lambda: read_config(run_dir))
    trainer = _make_trainer(data, config, run_dir, _reporter(reporter, world), options, world)
    start = time.perf_counter()
    system = trainer.directory.system_path
    with (
        _interruptible(run_dir, world),
        monitored(trainer.reporter, system, every=monitor_every, keep=True),
    ):
        if world.from_main(trainer.directory.has_checkpoint):
            trainer.resume()
        else:
            trainer.reporter.line(f"{run_dir}: no checkpoint yet, starting the run again")
            trainer.fit()
        if trainer.state.refit:  # the first pass already wrote the validation figures
            metrics = trainer.directory.read_metrics() if world.is_main else {}
        else:
            metrics = _validate_and_refit(trainer)
    return _finish(trainer, metrics, time.perf_counter() - start)


@contextmanager
def _interruptible(run_dir: Path, world: World) -> Iterator[None]:
    resume = f"continue with: imclass train --resume {run_dir}"
    try:
        yield
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"interrupted; the best model so far is in {run_dir}; {resume}"
        ) from None
    except RuntimeError as error:  # gloo reports a lost peer as a plain RuntimeError
        if not world.distributed or isinstance(error, torch.OutOfMemoryError):
            raise
        raise DistributedError(
            f"training process {world.rank} lost the others ({_first_line(error)}); torchrun "
            f"names the one that failed first; the last finished epoch is saved in {run_dir}; "
            f"{resume}"
        ) from None


def _reporter(reporter: Reporter | None, world: World) -> Reporter:
    """Rank 0 prints; the other processes hold the same figures and stay quiet."""
    return (reporter or Reporter()) if world.is_main else Reporter(quiet=True)


def _first_line(error: Exception) -> str:
    """The error's first sentence without gloo's [source-file:line] prefix."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return re.sub(r"^\[[^\]]*\]\s*", "", lines[0]).split(". ")[0].rstrip(".")


def _make_trainer(
    data: Path,
    config: TrainConfig,
    run_dir: Path,
    reporter: Reporter,
    options: LabelOptions,
    world: World,
) -> Trainer:
    source = open_data(data, options)
    for note in source.notes:
        reporter.warn(note)
    train_set, valid_set = train_valid_sets(source, config.valid_fraction, config.seed)
    kind = "multi-label, " if source.multilabel else ""
    reporter.line(
        f"{source.name}: {kind}{len(source.classes)} classes, {len(train_set)} train / "
        f"{len(valid_set)} validation images"
    )
    resolved = resolve(config, source, train_set, valid_set, world)
    if world.distributed:
        reporter.line(world.describe(config.batch_size, config.lr))
    return Trainer(resolved, source, run_dir, train_set, valid_set, reporter, world)


def _write_config(data: Path, trainer: Trainer, options: LabelOptions) -> None:
    trainer.directory.write_config(trainer.resolved.to_yaml_dict(data, options, __version__))


def read_config(run_dir: Path) -> tuple[Path, TrainConfig, LabelOptions]:
    """The data, settings and label options a run was started with, to resume it: the model
    it resolved, not today's default (a run started before the default changed resumes with
    the backbone its checkpoint holds)."""
    directory = RunDirectory(run_dir)
    values = directory.read_config()
    try:
        options = LabelOptions(**values.get("data_options", {}))
        train = dict(values["train"])
        if train.get("model") is None and "resolved" in values:
            train["model"] = values["resolved"]["model"]
        return Path(values["data"]), TrainConfig.from_dict(train), options
    except (KeyError, TypeError) as error:
        raise RunDirError(f"{directory.config_path}: unreadable ({error})") from None


def _tune_thresholds(trainer: Trainer, targets, probs) -> tuple[float, ...]:
    """Thresholds chosen on the validation split, stored in model.json for predict."""
    objective = trainer.config.threshold_objective
    thresholds, kind = tune_thresholds(targets, probs, objective)
    trainer.store_thresholds(thresholds)
    shown = ", ".join(
        f"{c} {t:.3f}" for c, t in zip(trainer.source.classes, thresholds, strict=True)
    )
    trainer.reporter.line(f"thresholds ({kind}, best {objective} on validation): {shown}")
    return thresholds


def _validate_and_refit(trainer: Trainer) -> dict:
    """Temperature, thresholds and validation figures from the first pass; then, with refit,
    the second pass on train + valid, which keeps them (validation images cannot judge a
    model trained on them)."""
    metrics = _validate(trainer) if trainer.world.is_main else {}
    if trainer.refits():
        trainer.start_refit()
        trainer.fit()
    return metrics


def _validate(trainer: Trainer) -> dict:
    temperature = trainer.calibrate()
    trainer.reporter.line(f"temperature {temperature:.3f} (log loss on validation)")
    probs, labels, paths = trainer.valid_probabilities()
    thresholds = None
    if trainer.task.multilabel:
        thresholds = _tune_thresholds(trainer, labels, probs)
    title = f"imclass run {trainer.run_dir.name}: validation"
    if trainer.refits():
        title += " (first pass; the saved model was then refitted on train + validation)"
    return write_evaluation(
        trainer.directory,
        title,
        labels,
        probs,
        paths,
        trainer.source.classes,
        trainer.history.rows,
        thresholds,
        temperature,
        system=read_system_log(trainer.directory.system_path),
    )


def _finish(trainer: Trainer, metrics: dict, seconds: float) -> RunResult:
    if trainer.world.is_main:
        trainer.directory.remove_checkpoint()
    bad = len(trainer.state.bad_files)
    if bad:
        trainer.reporter.line(f"{bad} unreadable image(s) skipped")
    return RunResult(trainer.run_dir, metrics, trainer.best.epoch, seconds, trainer)
