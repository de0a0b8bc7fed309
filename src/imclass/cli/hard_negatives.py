"""`imclass hard-negatives`: mine a pool of images for the ones a model mistakes for a class,
add them to its negative class and train again, round after round (issue 13)."""

from __future__ import annotations

import click
from rich.table import Table

from imclass.cli.common import PATH, experiment_options, label_options, stdout, use_all_cores


@click.command("hard-negatives")
@click.argument("run", type=PATH)
@click.argument("pool", type=PATH)
@click.option(
    "--negative-class",
    help="the class mined images join [default: the one named none, negative, background or other]",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="mine a pool image when the model calls it a class with at least this probability",
)
@click.option(
    "--rounds",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="rounds of mining after round 0 (fewer when one finds nothing new)",
)
@click.option(
    "--pool-test-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.3,
    show_default=True,
    help="pool images never mined, on which each round's false-positive rate is measured",
)
@experiment_options
def hard_negatives(run, pool, negative_class, confidence, rounds, pool_test_fraction, **settings):
    """Mine POOL (images showing none of the classes) for the ones a model of RUN's recipe
    calls a class, add them to the negative class (as links: DATA and POOL are never
    changed) and train again, --rounds times. Round 0 trains RUN's recipe on DATA's training
    side; rounds.csv and rounds.png give each round's false-positive rate on never-mined
    pool images and accuracy on held-out DATA images."""
    use_all_cores()
    from imclass.experiments.hard_negatives import MiningPlan, mine_hard_negatives, resolve_mining
    from imclass.progress import Reporter
    from imclass.train.config import parse_assignments

    out, assignments = settings.pop("out"), settings.pop("assignments")
    plan = MiningPlan(
        negative=negative_class,
        confidence=confidence,
        rounds=rounds,
        pool_test_fraction=pool_test_fraction,
        test_fraction=settings.pop("test_fraction"),
        seed=settings.pop("seed"),
    )
    options = label_options(settings)
    job = resolve_mining(run, pool, out, plan, parse_assignments(assignments), options)
    rows = mine_hard_negatives(job, out, Reporter())
    _print_rounds(rows, job.negative)
    stdout.print(f"rounds: {out / 'rounds.csv'}, {out / 'rounds.png'}")
    stdout.print(f"the last round's data set (links): {out / 'data'}")


def _print_rounds(rows: list[dict], negative: str) -> None:
    table = Table(
        "round",
        f"mined into {negative}",
        "false-positive rate (held-out pool)",
        "accuracy (held-out data)",
        "seconds",
    )
    for row in rows:
        table.add_row(
            str(row["round"]),
            str(row["mined_total"]),
            f"{row['false_positive_rate']:.3f}",
            f"{row['accuracy']:.3f}",
            f"{row['seconds']:.0f}",
        )
    stdout.print(table)
