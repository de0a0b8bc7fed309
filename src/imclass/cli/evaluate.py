"""`imclass evaluate`: score a trained run on labelled images."""

from __future__ import annotations

import click

from imclass.cli.common import (
    PATH,
    data_options,
    headline,
    label_options,
    overwrite_option,
    run_inputs,
    runtime_option,
    stdout,
    use_all_cores,
)
from imclass.files import check_output


@click.command()
@click.argument("run_dir", type=PATH)
@click.argument("data", type=PATH)
@click.option(
    "--out",
    type=PATH,
    help="where metrics.json, predictions.csv and report.html go [default: RUN_DIR]",
)
@overwrite_option
@runtime_option
@data_options
def evaluate(run_dir, data, out, overwrite, runtime, **settings):
    """Score RUN_DIR's model on DATA; writes metrics.json, predictions.csv and report.html."""
    use_all_cores()
    from imclass.evaluate import evaluate_run
    from imclass.models.run_dir import RunDirectory
    from imclass.progress import Reporter

    out = check_output(
        out or run_dir,
        [data, *run_inputs(run_dir)],
        overwrite=overwrite,
        kind="folder",
        writes=RunDirectory.EVALUATION_FILES,
        hint="choose another --out (a run directory's own files are its validation figures), "
        "or pass --overwrite to replace them",
    )
    options = label_options(settings)
    metrics = evaluate_run(run_dir, data, out, Reporter(), options, runtime=runtime)
    stdout.print(f"{headline(metrics)} ({metrics['n_images']} images)")
    stdout.print(f"report: {RunDirectory(out).report_path}")
