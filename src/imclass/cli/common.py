"""What the commands share: the output console, path and overwrite options, the label-file
options, the run directory's inputs, and the one-line summaries of a result."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from imclass.files import check_output
from imclass.progress import LiteralConsole

# Logs and pipes get wide tables rather than rows wrapped at 80 columns.
stdout = LiteralConsole(width=None if sys.stdout.isatty() else 160)

# Paths are checked by the library, which names an unreadable one in one line (click's own
# check prints usage and exits 2, as for a mistyped flag).
PATH = click.Path(path_type=Path, readable=False)

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="replace output files that already exist"
)


def use_all_cores() -> None:
    """Torch's threads, one per core: set here, by the commands that run a model, and never by
    the library (a program that imports imclass keeps its own setting)."""
    from imclass.inference.device import use_all_cores as set_threads

    set_threads()


def run_inputs(run_dir: Path) -> list[Path]:
    """The files a trained run is read from: never an output."""
    from imclass.models.run_dir import RunDirectory

    return RunDirectory(run_dir).inputs


def runtime_choice(help_text: str):
    """--runtime auto|onnx|torch (inference/runtime.py), with what it means for the command.
    The names are spelled out: importing RUNTIMES would load torch when any command starts
    (tests/cli/test_options.py checks they agree)."""
    return click.option(
        "--runtime",
        type=click.Choice(["auto", "onnx", "torch"]),
        default="auto",
        show_default=True,
        help=help_text,
    )


runtime_option = runtime_choice(
    "onnx: ONNX Runtime on RUN_DIR/model.onnx, exported into the run directory the first "
    "time; torch: eager PyTorch; auto: onnx, but torch on a GPU or when no export can be made"
)


monitor_option = click.option(
    "--monitor-every",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="sample CPU, memory, disk and GPUs this often into system.csv and the progress bar; "
    "0: never",
)


def data_options(function):
    """--multilabel, --label-delimiter, --skip-missing, --root: how label files are read."""
    options = [
        click.option(
            "--multilabel/--single-label",
            default=None,
            help="force the kind of labels [default: multi-label when any image has two]",
        ),
        click.option(
            "--label-delimiter", default=None, help="between labels in a labels column [space]"
        ),
        click.option(
            "--skip-missing", is_flag=True, help="skip (and report) rows whose image is missing"
        ),
        click.option(
            "--root",
            type=PATH,
            help="the folder every image a label file lists must be inside "
            "[default: the label file's folder]",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def label_options(settings: dict):
    """Pop the data_options values out of a command's keyword arguments."""
    from imclass.data.dataset import LabelOptions

    root = settings.pop("root")
    return LabelOptions(
        settings.pop("multilabel"),
        settings.pop("label_delimiter"),
        settings.pop("skip_missing"),
        # As text: a run's config.yaml records the options, and YAML writes no Path objects.
        None if root is None else str(root),
    )


def check_run_dir(out: Path, inputs: list[Path], overwrite: bool) -> Path:
    """A run directory is never replaced without --overwrite."""
    return check_output(
        out,
        inputs,
        overwrite=overwrite,
        kind="folder",
        hint=f"continue it with `imclass train --resume {out}`, choose another --out, "
        "or pass --overwrite to train into it again",
    )


def headline(metrics: dict) -> str:
    if metrics.get("multilabel"):
        return (
            f"exact match {metrics['exact_match']:.4f}, Hamming accuracy "
            f"{metrics['hamming_accuracy']:.4f}, micro F1 {metrics['micro_f1']:.4f}"
        )
    return (
        f"accuracy {metrics['accuracy']:.4f}, balanced accuracy "
        f"{metrics['balanced_accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
    )


def print_result(result) -> None:
    stdout.print(
        f"saved epoch: {result.best_epoch}; validation {headline(result.metrics)} "
        f"({result.seconds:.0f} s)"
    )
    stdout.print(f"run directory: {result.run_dir}")
    from imclass.models.run_dir import RunDirectory

    stdout.print(f"report: {RunDirectory(result.run_dir).report_path}")


def train_options(function):
    """Every TrainConfig field as a `train` option: its flag, type, default, choices and help
    are the field's (train/config.py declares each setting once)."""
    from dataclasses import fields

    from imclass.train.config import TrainConfig

    for setting in reversed(fields(TrainConfig)):
        function = _setting_option(setting)(function)
    return function


def _setting_option(setting):
    flag, default = "--" + setting.name.replace("_", "-"), setting.default
    kind, choices, text = (setting.metadata[k] for k in ("kind", "choices", "help"))
    shown = default is not None  # a None default's meaning is in its help
    if kind is bool:
        return click.option(
            f"{flag}/--no-{flag[2:]}", default=default, show_default=shown, help=text
        )
    kind = click.Choice(choices) if choices else kind
    return click.option(flag, type=kind, default=default, show_default=shown, help=text)


def experiment_options(function):
    """What every experiment command takes: its output folder (re-running with the same one
    resumes), the held-out fraction and seed, and NAME=VALUE overrides of the recipe."""
    options = [
        click.option(
            "--out",
            type=PATH,
            required=True,
            help="output folder; run the same command again to resume it",
        ),
        click.option(
            "--test-fraction",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=0.25,
            show_default=True,
            help="images held out for scoring (a split file's test rows win)",
        ),
        click.option("--seed", type=click.IntRange(0), default=0, show_default=True),
        click.option(
            "--set",
            "assignments",
            multiple=True,
            metavar="NAME=VALUE",
            help="a training setting for every run, like --set epochs=3 (repeatable)",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return data_options(function)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket for a server (`imclass app`, `imclass serve`), so a taken port is one
    error line before anything is read, and the printed URL answers as soon as it is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)  # from now on a browser's request waits for the server to start
    except OSError as error:
        listener.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port} ({error.strerror})") from None
    return listener
