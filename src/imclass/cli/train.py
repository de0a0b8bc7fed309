"""`imclass train`: fine-tune a pretrained backbone on a data set."""

from __future__ import annotations

import click

from imclass.cli.common import (
    PATH,
    check_run_dir,
    data_options,
    label_options,
    monitor_option,
    print_result,
    train_options,
    use_all_cores,
)


@click.command()
@click.argument("data", required=False, type=PATH)
@click.option("--out", type=PATH, help="run directory [default: runs/DATA-TIME]")
@click.option("--resume", type=PATH, help="continue an interrupted run")
@click.option("--overwrite", is_flag=True, help="train again into a run directory that exists")
@click.option(
    "--config",
    "config_file",
    type=PATH,
    help="YAML of training settings (flat, or a run's config.yaml; a sweep's best_config.yaml); "
    "options given here win over it",
)
@monitor_option
@train_options
@data_options
def train(data, out, resume, overwrite, config_file, monitor_every, **settings):
    """Fine-tune a pretrained backbone on DATA (a folder per class, pre-split, or label file)."""
    use_all_cores()
    from imclass.train.config import TrainConfig
    from imclass.train.run import default_run_dir, resume_run, train_run

    options = label_options(settings)
    if resume and config_file:
        raise click.UsageError("--resume continues with the run's own settings; drop --config")
    if resume:
        result = resume_run(resume, monitor_every=monitor_every)
    elif data is None:
        raise click.UsageError("DATA is required (or --resume RUN_DIR)")
    else:
        settings = _with_file_settings(settings, config_file)
        out = check_run_dir(out or default_run_dir(data), [data], overwrite)
        result = train_run(
            data, TrainConfig(**settings), out, options=options, monitor_every=monitor_every
        )
    print_result(result)


def _with_file_settings(settings: dict, config_file) -> dict:
    """The file's settings in place of every default the command line left as it was."""
    if config_file is None:
        return settings
    from click.core import ParameterSource

    from imclass.train.config import read_settings_file

    context = click.get_current_context()
    from_file = read_settings_file(config_file)
    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    return {
        name: from_file[name]
        if name in from_file and context.get_parameter_source(name) in defaults
        else value
        for name, value in settings.items()
    }
