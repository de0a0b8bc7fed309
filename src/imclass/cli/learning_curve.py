"""`imclass learning-curve`: held-out accuracy against training images per class, and whether
more images of this kind would help (issue 13)."""

from __future__ import annotations

import click
import numpy as np
from rich.table import Table

from imclass.cli.common import PATH, experiment_options, label_options, stdout, use_all_cores
from imclass.progress import Reporter

SIZES_HELP = (
    "training images per class, increasing; 'all' (last) trains on every training image and is "
    "placed at the mean per class. Sizes over the smallest class's training images are covered "
    "by 'all' (an error without it)"
)


@click.command("learning-curve")
@click.argument("data", type=PATH)
@click.option("--sizes", default="5,10,20,40,80,all", show_default=True, help=SIZES_HELP)
@click.option(
    "--repeats",
    type=click.IntRange(1, 999),
    default=3,
    show_default=True,
    help="different nested subsets per size; their spread is the ± of each figure",
)
@experiment_options
def learning_curve(data, sizes, repeats, out, test_fraction, seed, assignments, **settings):
    """Train on growing subsets of DATA, score each on one held-out side, and say whether more
    images of this kind would help. Writes curve.csv, per_class.csv, curve.png and verdict.txt
    to --out; a re-run resumes."""
    from imclass.experiments.learning_curve import CurvePlan, learning_curve, parse_sizes
    from imclass.train.config import TrainConfig, parse_assignments

    plan = CurvePlan(parse_sizes(sizes), repeats, seed, test_fraction)
    config = TrainConfig(**parse_assignments(assignments))
    options = label_options(settings)
    use_all_cores()
    result = learning_curve(data, out, plan, config, options, Reporter())
    stdout.print(_table(result.curve))
    for line in result.lines:
        stdout.print(line)
    stdout.print(f"curve.csv, per_class.csv, curve.png, verdict.txt: {result.out}")


def _table(curve) -> Table:
    repeats = f"{curve.repeats} repeat{'s' if curve.repeats > 1 else ''}"
    table = Table(title=f"held-out accuracy, mean ± std over {repeats}")
    for name in ("images per class", "accuracy", "macro F1", "seconds"):
        table.add_column(name, justify="right")
    accuracy, f1 = curve.scores(), curve.grid(lambda row: row.macro_f1)
    seconds = curve.grid(lambda row: row.seconds)
    for i, size in enumerate(curve.sizes):
        table.add_row(size.shown, _spread(accuracy[i]), _spread(f1[i]), f"{seconds[i].mean():.0f}")
    return table


def _spread(values: np.ndarray) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"
