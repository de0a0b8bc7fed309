"""`imclass compare`: models x image sizes on one recipe and one held-out split, with accuracy,
speed and cost side by side and the Pareto front of accuracy against latency (issue 13)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from imclass.cli.common import PATH, experiment_options, label_options, stdout, use_all_cores


@click.command()
@click.argument("data", type=PATH)
@click.option(
    "--models",
    required=True,
    help="comma-separated timm names, like tf_efficientnet_lite0,tf_efficientnet_lite2",
)
@click.option(
    "--image-sizes",
    default="224",
    show_default=True,
    help="comma-separated input sizes in pixels; every model trains at each",
)
@click.option(
    "--repeats",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="trainings per model and size, with training seeds S, S+1, ... (S: --set seed, "
    "default 0); accuracy is their mean ± std",
)
@experiment_options
def compare(data, models, image_sizes, repeats, out, test_fraction, seed, assignments, **settings):
    """Train every model at every size on DATA with one recipe and held-out split; compare
    held-out accuracy, training time, latency, throughput, parameters and GFLOPs.

    Writes OUT/compare.csv, OUT/pareto.png and each point under OUT/points/; run the same
    command again to resume."""
    use_all_cores()
    from imclass.experiments.compare import CompareSettings, compare_models, plan_grid
    from imclass.experiments.points import held_out_split, start_experiment
    from imclass.progress import Reporter
    from imclass.train.config import TrainConfig, parse_assignments

    options = label_options(settings)
    config = TrainConfig(**parse_assignments(assignments))
    compare_settings = CompareSettings(config, repeats)
    grid = plan_grid(_names(models), _sizes(image_sizes), compare_settings)
    for model, reason in grid.skipped:
        stdout.print(f"skipped {model}: {reason}")
    held = held_out_split(data, test_fraction, seed, options)
    description = {
        "experiment": "compare",
        "data": Path(data).resolve(),
        "test_fraction": test_fraction,
        "seed": seed,
        "data_options": asdict(options),
        "recipe": config.to_dict(),
    }
    start_experiment(out, description)
    rows = compare_models(held, grid, Path(out), compare_settings, Reporter())
    stdout.print(_table(rows, grid.skipped, len(held.test)))
    stdout.print(f"table: {Path(out) / 'compare.csv'}; plot: {Path(out) / 'pareto.png'}")


def _names(text: str) -> list[str]:
    """Comma-separated names, blanks and repeats dropped, in the order given."""
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def _sizes(text: str) -> list[int]:
    from imclass.errors import invalid_parameter

    try:
        return [int(size) for size in _names(text)]
    except ValueError:
        raise invalid_parameter(
            "image_sizes", "compare", "comma-separated integers like 224,320", text
        ) from None


def _table(rows: list[dict], skipped, test_images: int) -> Table:
    devices = ", ".join(sorted({row["device"] for row in rows}))
    table = Table(title=f"imclass compare: {test_images} held-out images; timed on {devices}")
    for column in ("model", "size", "accuracy", "train s", "latency ms", "p95 ms", "img/s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for column in ("params M", "GFLOPs", "front"):
        table.add_column(column, justify="right")
    for row in rows:
        std = row["accuracy_std"]
        table.add_row(
            row["model"],
            str(row["image_size"]),
            f"{row['accuracy']:.4f}" + (f" ± {std:.4f}" if std is not None else ""),
            f"{row['train_seconds']:.0f}",
            f"{row['latency_ms_median']:.1f}",
            f"{row['latency_ms_p95']:.1f}",
            f"{row['throughput_ips']:.1f}",
            f"{row['params_m']:.2f}",
            f"{row['gflops']:.2f}",
            "*" if row["pareto"] else "",
        )
    for model, _reason in skipped:
        table.add_row(model, "", "skipped", *[""] * 7)
    table.caption = (
        "* on the Pareto front (no other is as accurate and as fast); GFLOPs count a "
        "multiply-add as 2"
    )
    return table
