"""What a sweep leaves in OUT, rebuilt from the study after every trial: sweep.csv (a row per
trial that trained), sweep_<setting>.png (score against value) and best_config.yaml (the best
configuration, which `imclass train --config` takes)."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from imclass.evaluate.plots import new_figure, png_bytes
from imclass.experiments.space import Choice, Range, SearchSpace
from imclass.experiments.study import CLAIM, FOLDER, HOST
from imclass.files import write_bytes, write_text
from imclass.train.config import TrainConfig

TABLE_FILE = "sweep.csv"
BEST_FILE = "best_config.yaml"
TRIALS = "trials"  # OUT/trials/<trial>-<repeat>/: one experiment point per training
SCORES = "scores"  # trial user attrs: the repeats' held-out scores so far
SECONDS = "seconds"  # and their training seconds in all


@dataclass(frozen=True)
class SweepReport:
    rows: list[dict]  # one per trial that trained (or is training), in trial order
    best: dict | None  # the complete row with the highest mean
    files: list[Path]
    trained: int  # configurations this worker trained in this run


def write_report(
    study: optuna.Study,
    out: Path,
    space: SearchSpace,
    config_of: Callable[[dict], TrainConfig],
    trained: int = 0,
) -> SweepReport:
    rows = [trial_row(t, space.names) for t in study.get_trials() if _trained_here(t)]
    files = [out / TABLE_FILE]
    write_text(files[0], table_text(rows, space.names))
    best = best_row(rows)
    if best is not None:
        for parameter in space.parameters:
            path = out / f"sweep_{parameter.name}.png"
            write_bytes(path, parameter_plot(rows, parameter))
            files.append(path)
        files.append(out / BEST_FILE)
        complete = sum(r["mean"] is not None for r in rows)
        write_text(files[-1], best_config_text(best, config_of, complete))
    return SweepReport(rows, best, files, trained)


def _trained_here(trial: FrozenTrial) -> bool:
    """A trial that claimed its configuration: not one that found it taken, nor a queued retry."""
    return trial.user_attrs.get(CLAIM) == trial.number


def trial_row(trial: FrozenTrial, names: tuple[str, ...]) -> dict:
    """The trial's settings, the mean and standard deviation of its repeats (once complete),
    how many repeats finished, their seconds, its state and where its runs are."""
    scores = trial.user_attrs.get(SCORES, [])
    complete = trial.state == TrialState.COMPLETE
    return {
        "trial": trial.number,
        **{name: trial.params.get(name) for name in names},
        "mean": trial.value if complete else None,
        "std": statistics.stdev(scores) if complete and len(scores) > 1 else None,
        "repeats": len(scores),
        "seconds": trial.user_attrs.get(SECONDS, 0.0),
        "state": trial.state.name,
        "runs": f"{TRIALS}/{trial.user_attrs.get(FOLDER, trial.number)}-*",
        "host": trial.user_attrs.get(HOST, ""),
    }


def shown_value(value) -> str:
    """A setting's value in a line: a float drawn from a range to 4 significant digits."""
    if value is None:
        return ""
    return str(float(f"{value:.4g}")) if isinstance(value, float) else str(value)


def table_text(rows: list[dict], names: tuple[str, ...]) -> str:
    columns = ["trial", *names, "mean", "std", "repeats", "seconds", "state", "runs", "host"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        shown = {**row, **{k: f"{row[k]:.4f}" for k in ("mean", "std") if row[k] is not None}}
        writer.writerow(["" if shown[c] is None else shown[c] for c in columns])
    return buffer.getvalue()


def ranked(rows: list[dict]) -> list[dict]:
    """Complete rows best first: the highest mean; between equal means the steadier (smaller
    std), then the earlier trial. The others (failed, running) follow in trial order."""
    complete = [r for r in rows if r["state"] == TrialState.COMPLETE.name]
    # rounded: (0.9394 + 0.8788) / 2 and 0.9091 are one score, whatever the float sums say
    best_first = sorted(
        complete, key=lambda r: (-round(r["mean"], 9), round(r["std"] or 0.0, 9), r["trial"])
    )
    return best_first + [r for r in rows if r not in complete]


def best_row(rows: list[dict]) -> dict | None:
    first = ranked(rows)[:1]
    return first[0] if first and first[0]["mean"] is not None else None


def best_config_text(best: dict, config_of: Callable[[dict], TrainConfig], trials: int) -> str:
    """Every training setting of the best configuration (with the first repeat's seed), as a
    flat YAML mapping, under a comment that says where it came from."""
    params = {k: v for k, v in best.items() if k not in _NOT_PARAMS}
    spread = f" ± {best['std']:.4f}" if best["std"] is not None else ""
    header = (
        f"# imclass sweep: trial {best['trial']}, the best of {trials} complete in {TABLE_FILE}: "
        f"mean "
        f"held-out score {best['mean']:.4f}{spread} over {best['repeats']} repeat(s)\n"
        f"# swept: {', '.join(f'{k}={shown_value(v)}' for k, v in params.items())}\n"
        f"# train with it: imclass train DATA --config {BEST_FILE}\n"
    )
    return header + yaml.safe_dump(config_of(params).to_dict(), sort_keys=False)


_NOT_PARAMS = {"trial", "mean", "std", "repeats", "seconds", "state", "runs", "host"}


def parameter_plot(rows: list[dict], parameter: Choice | Range) -> bytes:
    """Each complete trial's mean score (bar: its repeats' std) against its value of the
    setting; for a list, a line through the mean at each value (the other settings averaged)."""
    done = [r for r in rows if r["state"] == TrialState.COMPLETE.name]
    figure = new_figure((5.5, 3.6))
    ax = figure.subplots()
    x = [_position(r[parameter.name], parameter) for r in done]
    ax.errorbar(
        x,
        [r["mean"] for r in done],
        yerr=[r["std"] or 0.0 for r in done],
        fmt="o",
        capsize=3,
        alpha=0.7,
        label="a trial (bar: std of its repeats)",
    )
    if isinstance(parameter, Choice):
        values = sorted({_position(v, parameter) for v in parameter.values})
        means = [
            np.mean([r["mean"] for r, p in zip(done, x, strict=True) if p == v] or [np.nan])
            for v in values
        ]
        ax.plot(values, means, color="grey", label="mean at this value")
    _value_axis(ax, parameter)
    ax.set_xlabel(parameter.name)
    ax.set_ylabel("held-out score (mean of repeats)")
    ax.legend(fontsize="small")
    return png_bytes(figure)


def _value_axis(ax, parameter: Choice | Range) -> None:
    """A list's values as the ticks, written as in the table; a range's axis in its scale,
    its small numbers in powers of ten rather than long decimals."""
    if _log_axis(parameter):
        ax.set_xscale("log")
    if isinstance(parameter, Choice):
        ticks = [_position(v, parameter) for v in parameter.values]
        ax.set_xticks(ticks, [shown_value(v) for v in parameter.values])
        ax.minorticks_off()
    elif not parameter.log:
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))


def _numeric(parameter: Choice | Range) -> bool:
    if isinstance(parameter, Range):
        return True
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in parameter.values)


def _position(value, parameter: Choice | Range):
    """Where value sits on the x axis: itself for numbers, its index in the list otherwise."""
    return value if _numeric(parameter) else parameter.values.index(value)


def _log_axis(parameter: Choice | Range) -> bool:
    """A log range, or a list of positive numbers spanning a factor of 10 or more."""
    if isinstance(parameter, Range):
        return parameter.log
    values = parameter.values
    return _numeric(parameter) and min(values) > 0 and max(values) >= 10 * min(values)
