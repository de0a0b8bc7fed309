"""Models x image sizes trained with one recipe on one held-out split, each scored for accuracy
and measured for speed and cost on this machine, with the Pareto front of accuracy against
latency (issue 13).

OUT/points/<model>-<size>/seed-<seed>/ holds each training (train_point's folder) and
OUT/points/<model>-<size>/speed.json the speed and cost measured on the first one's model; both
are read back on a re-run, so nothing finished is trained or measured again. compare.csv and
pareto.png are rebuilt from them every time.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from imclass.errors import ConfigError, ModelError, invalid_parameter
from imclass.experiments.pareto import pareto_front, pareto_plot
from imclass.experiments.points import HeldOut, train_point
from imclass.experiments.speed import (
    SpeedSettings,
    count_gflops,
    count_parameters,
    measure_speed,
)
from imclass.files import read_json, write_bytes, write_json, write_text
from imclass.inference.device import pick_device
from imclass.models.backbones import check_model_name, offline_problem
from imclass.models.run_dir import RunDirectory
from imclass.progress import Reporter, interrupt_ends_with
from imclass.train.config import TrainConfig

POINTS_FOLDER = "points"
SPEED_FILE = "speed.json"
CSV_FILE = "compare.csv"
PLOT_FILE = "pareto.png"
CSV_COLUMNS = (
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
)
# the grid's own settings: --models and --image-sizes give them
GRID_SETTINGS = ("model", "image_size")


@dataclass(frozen=True)
class Candidate:
    """One model at one input size: a cell of the grid."""

    model: str
    image_size: int

    @property
    def name(self) -> str:
        return f"{self.model}-{self.image_size}"


@dataclass(frozen=True)
class Grid:
    """The cells to train, and the models left out with the reason why."""

    candidates: tuple[Candidate, ...]
    skipped: tuple[tuple[str, str], ...]  # (model, reason)


@dataclass(frozen=True)
class CompareSettings:
    """The recipe every cell trains with, how often, and how speed is measured."""

    config: TrainConfig
    repeats: int = 1
    speed: SpeedSettings = SpeedSettings()

    def __post_init__(self) -> None:
        grid = sorted(n for n in GRID_SETTINGS if getattr(self.config, n) is not None)
        if grid:
            raise ConfigError(
                f"--set {grid[0]}: the grid sets it; give --models and --image-sizes instead"
            )
        if self.repeats < 1:
            raise invalid_parameter("repeats", "compare", "an int >= 1", self.repeats)

    def seeds(self) -> range:
        """The training seed of each repeat; the held-out split stays the same."""
        return range(self.config.seed, self.config.seed + self.repeats)

    def config_for(self, candidate: Candidate, seed: int) -> TrainConfig:
        return replace(
            self.config, model=candidate.model, image_size=candidate.image_size, seed=seed
        )


def plan_grid(models: list[str], image_sizes: list[int], settings: CompareSettings) -> Grid:
    """Every usable model at every size; an unknown name is an error (with did-you-mean), a
    model whose weights cannot be had here is skipped with its reason; none usable is an
    error. Each cell's settings are checked before anything trains."""
    for model in models:
        check_model_name(model)
    problems = {model: offline_problem(model) for model in models}
    skipped = tuple((m, f"no pretrained weights here: {p}") for m, p in problems.items() if p)
    candidates = tuple(
        Candidate(m, size) for m in models if not problems[m] for size in image_sizes
    )
    if not candidates:
        raise ModelError(
            "no model of --models can be used here; "
            + "; ".join(f"{m}: {reason}" for m, reason in skipped)
        )
    for candidate in candidates:  # TrainConfig refuses a size out of range, before any work
        settings.config_for(candidate, settings.config.seed)
    return Grid(candidates, skipped)


def compare_models(
    held: HeldOut,
    grid: Grid,
    out: Path,
    settings: CompareSettings,
    reporter: Reporter | None = None,
) -> list[dict]:
    """Train and measure every cell (resuming finished ones), then write compare.csv and
    pareto.png; returns the table's rows in grid order, `pareto` set."""
    reporter = reporter or Reporter(quiet=True)
    rows = []
    total = len(grid.candidates) * (settings.repeats + 1)  # trainings, then a measurement
    hint = (
        f"interrupted; finished points are kept in {out / POINTS_FOLDER}: run the same command "
        "again to resume (they are not trained or timed again)"
    )
    with interrupt_ends_with(lambda: hint), reporter.task("compare", total) as advance:
        for candidate in grid.candidates:
            rows.append(compare_candidate(held, candidate, out, settings, reporter, advance))
    rows = [row | {"pareto": on} for row, on in zip(rows, pareto_front(rows), strict=True)]
    write_table(out / CSV_FILE, rows)
    devices = ", ".join(sorted({row["device"] for row in rows}))
    write_bytes(out / PLOT_FILE, pareto_plot(rows, devices))
    return rows


def compare_candidate(
    held: HeldOut,
    candidate: Candidate,
    out: Path,
    settings: CompareSettings,
    reporter: Reporter,
    advance,
) -> dict:
    """One cell's row: accuracy over its repeats, training seconds, speed and cost."""
    folder = out / POINTS_FOLDER / candidate.name
    points = []
    for seed in settings.seeds():
        advance(0, f"{candidate.model} {candidate.image_size} px: training (seed {seed})")
        config = settings.config_for(candidate, seed)
        points.append(train_point(held, held.train, folder / f"seed-{seed}", config, reporter))
        advance(1)
    advance(0, f"{candidate.model} {candidate.image_size} px: timing")
    run_dir = folder / f"seed-{settings.config.seed}" / "run"
    speed = measured_speed(folder / SPEED_FILE, run_dir, settings)
    advance(1)
    cell = {"model": candidate.model, "image_size": candidate.image_size}
    return cell | summary(points) | speed


def summary(points: list[dict]) -> dict:
    """Mean score and its sample standard deviation (None for one repeat), mean seconds."""
    scores = [p["score"] for p in points]
    return {
        "accuracy": statistics.fmean(scores),
        "accuracy_std": statistics.stdev(scores) if len(scores) > 1 else None,
        "train_seconds": statistics.fmean(p["seconds"] for p in points),
    }


def measured_speed(path: Path, run_dir: Path, settings: CompareSettings) -> dict:
    """The trained model's speed and cost, kept in path and read back on a re-run."""
    if path.is_file():
        return read_json(path)
    model, spec = RunDirectory(run_dir).load_model()
    size = spec.preprocessing.image_size
    cost = {
        "params_m": count_parameters(model) / 1e6,
        "gflops": count_gflops(model, size),
    }
    device = pick_device(settings.config.device)
    speed = measure_speed(model, size, device, settings.speed).to_json()
    figures = {**cost, **speed}
    write_json(path, figures)
    return figures


def write_table(path: Path, rows: list[dict]) -> None:
    """compare.csv: CSV_COLUMNS, one row per cell; an empty accuracy_std for one repeat."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    write_text(path, buffer.getvalue())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
