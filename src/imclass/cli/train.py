"""`imclass train`: fine-tune a pretrained backbone on a data set, in one process or in
several under torchrun (`imclass train --nproc N` starts torchrun on this machine)."""

from __future__ import annotations

import os
import sys

import click

from imclass.cli.common import (
    PATH,
    check_run_dir,
    data_options,
    label_options,
    monitor_option,
    print_result,
    train_options,
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
@click.option(
    "--nproc",
    type=click.IntRange(1),
    help="train in N processes on this machine (one per GPU): runs torchrun, which several "
    "machines use directly (see the README); --batch-size stays the global batch",
)
@monitor_option
@train_options
@data_options
def train(data, out, resume, overwrite, config_file, nproc, monitor_every, **settings):
    """Fine-tune a pretrained backbone on DATA (a folder per class, pre-split, or label file)."""
    from imclass.train.distributed import World, process_group

    world = World.from_environment()
    if nproc and nproc > 1:
        if world.distributed:
            raise click.UsageError("--nproc starts torchrun; under torchrun, drop it")
        _exec_torchrun(nproc)
    import torch

    torch.set_num_threads(world.cores())  # the command's choice, never the library's
    with process_group(world):
        result = _train(world, data, out, resume, overwrite, config_file, monitor_every, settings)
    if world.is_main:
        print_result(result)


def _train(world, data, out, resume, overwrite, config_file, monitor_every, settings):
    from imclass.train.config import TrainConfig
    from imclass.train.run import default_run_dir, resume_run, train_run

    options = label_options(settings)
    if resume and config_file:
        raise click.UsageError("--resume continues with the run's own settings; drop --config")
    if resume:
        return resume_run(resume, world=world, monitor_every=monitor_every)
    if data is None:
        raise click.UsageError("DATA is required (or --resume RUN_DIR)")
    settings = _with_file_settings(settings, config_file)
    config = TrainConfig(**settings)
    # rank 0 names the run directory (a default one holds the time) and checks it is new
    out = world.from_main(lambda: check_run_dir(out or default_run_dir(data), [data], overwrite))
    return train_run(data, config, out, options=options, world=world, monitor_every=monitor_every)


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """`imclass ARGV` as torchrun on this machine in nproc processes, without --nproc: a
    free port of its own (--standalone), and no restarts, so a failure ends the run."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--max-restarts=0",
        "-m",
        "imclass",
        *kept,
    ]


def _exec_torchrun(nproc: int) -> None:
    """This process becomes torchrun (its signals and exit status are then torchrun's)."""
    from imclass.data.workers import cpu_cores

    command = torchrun_command(nproc, sys.argv[1:])
    # each process sets its own share of the cores; this keeps torchrun from warning about it
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cpu_cores() // nproc)))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


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
