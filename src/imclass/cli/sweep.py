"""`imclass sweep`: search training settings, each configuration scored on held-out images by
the mean of several trainings (issue 13)."""

from __future__ import annotations

import click
from rich.table import Table

from imclass.cli.common import PATH, experiment_options, label_options, stdout, use_all_cores
from imclass.errors import ConfigError
from imclass.progress import Reporter


@click.command()
@click.argument("data", type=PATH)
@click.option(
    "--space",
    type=PATH,
    required=True,
    help="YAML mapping training settings to a list of values or a {low, high, log, type} range",
)
@click.option(
    "--sampler",
    type=click.Choice(["grid", "random", "tpe"]),
    help="[default: grid when every setting has a list of values, else tpe]",
)
@click.option(
    "--trials",
    type=click.IntRange(1),
    help="configurations to train, by every worker together [default: the whole grid]",
)
@click.option(
    "--repeats",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="trainings per configuration (seeds SEED..SEED+R-1); it is scored by their mean",
)
@click.option(
    "--storage",
    metavar="URL",
    help="the study's database [default: OUT/study.db]; give every worker the same "
    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE to share one study between machines",
)
@click.option("--study-name", help="[default: the --out folder's name with --storage, else sweep]")
@experiment_options
def sweep(data, space, sampler, trials, repeats, storage, study_name, **settings):
    """Train the configurations of a search space on DATA and score each on held-out images."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("imclass sweep needs optuna: pip install 'imclass[sweep]'") from None
    use_all_cores()
    # imclass prints each trial and error in a line; optuna would add its log and tracebacks
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from imclass.experiments.sweep import plan_sweep, run_sweep
    from imclass.train.config import parse_assignments

    plan = plan_sweep(
        data,
        space,
        settings.pop("out"),
        sampler=sampler,
        trials=trials,
        settings=parse_assignments(settings.pop("assignments")),
        repeats=repeats,
        seed=settings.pop("seed"),
        test_fraction=settings.pop("test_fraction"),
        options=label_options(settings),
        storage=storage,
        study_name=study_name,
    )
    report = run_sweep(plan, Reporter())
    _print_report(report, plan)


def _print_report(report, plan) -> None:
    stdout.print(_table(report.rows, plan.space.names, f"imclass sweep -> {plan.out}"))
    done = sum(r["state"] == "COMPLETE" for r in report.rows)
    running = sum(r["state"] == "RUNNING" for r in report.rows)
    elsewhere = f", {running} being trained by other workers" if running else ""
    stdout.print(
        f"{done} of {plan.trials} configurations trained ({report.trained} in this run{elsewhere})"
    )
    if report.best is not None:
        from imclass.experiments.sweep_report import shown_value

        best = report.best
        swept = ", ".join(f"{name}={shown_value(best[name])}" for name in plan.space.names)
        spread = "" if best["std"] is None else f" ± {best['std']:.4f}"
        stdout.print(f"best: trial {best['trial']}, {swept}: mean {best['mean']:.4f}{spread}")
    for path in report.files:
        stdout.print(f"wrote {path}")


def _table(rows: list[dict], names: tuple[str, ...], title: str) -> Table:
    """The trials best first, as sweep.csv has them (less its bookkeeping columns)."""
    from imclass.experiments.sweep_report import ranked, shown_value

    columns = ("trial", *names, "mean", "std", "repeats", "state")
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in names else "right")
    for row in ranked(rows):
        figures = {k: f"{row[k]:.4f}" for k in ("mean", "std") if row[k] is not None}
        table.add_row(*(figures.get(c, shown_value(row[c])) for c in columns))
    return table
