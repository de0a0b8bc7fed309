"""`imclass train`: fine-tune a pretrained backbone on a data set."""

from __future__ import annotations

import click

from imclass.cli.common import (
    PATH,
    check_run_dir,
    data_options,
    label_options,
    print_result,
    train_options,
    use_all_cores,
)


@click.command()
@click.argument("data", required=False, type=PATH)
@click.option("--out", type=PATH, help="run directory [default: runs/DATA-TIME]")
@click.option("--resume", type=PATH, help="continue an interrupted run")
@click.option("--overwrite", is_flag=True, help="train again into a run directory that exists")
@train_options
@data_options
def train(data, out, resume, overwrite, **settings):
    """Fine-tune a pretrained backbone on DATA (a folder per class, pre-split, or label file)."""
    use_all_cores()
    from imclass.train.config import TrainConfig
    from imclass.train.run import default_run_dir, resume_run, train_run

    options = label_options(settings)
    if resume:
        result = resume_run(resume)
    elif data is None:
        raise click.UsageError("DATA is required (or --resume RUN_DIR)")
    else:
        out = check_run_dir(out or default_run_dir(data), [data], overwrite)
        result = train_run(data, TrainConfig(**settings), out, options=options)
    print_result(result)
