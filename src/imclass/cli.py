"""The `imclass` command: parses arguments, calls the library, prints. Nothing else lives here."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from imclass.errors import ImclassError
from imclass.files import check_output
from imclass.progress import LiteralConsole, printable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Logs and pipes get wide tables rather than rows wrapped at 80 columns.
stdout = LiteralConsole(width=None if sys.stdout.isatty() else 160)


class ImclassGroup(click.Group):
    """Turns every ImclassError, and an OSError on a user's path, into one line on stderr and its
    exit code; Ctrl-C/kill into "interrupted" and 130; a Python warning into one line. Never a
    traceback."""

    def invoke(self, ctx):
        signal.signal(signal.SIGTERM, _raise_interrupt)
        _print_names_safely()
        shown = warnings.showwarning
        warnings.showwarning = _warning_line  # only while a command runs: library users keep theirs
        try:
            return super().invoke(ctx)
        except ImclassError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:
            click.echo(f"error: {_os_error_line(error)}", err=True)
            ctx.exit(1)
        except UnicodeError as error:
            click.echo(f"error: {_unicode_error_line(error)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot interrupt this
            click.echo("interrupted", err=True)
            ctx.exit(130)
        finally:
            warnings.showwarning = shown


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """`warning: TEXT` on one line, instead of Python's file, line number and source line."""
    click.echo(f"warning: {' '.join(str(message).splitlines())}", err=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _print_names_safely() -> None:
    """A file name that is not UTF-8 (surrogate-escaped by Python) prints as backslash escapes
    instead of stopping the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _os_error_line(error: OSError) -> str:
    """'PATH: problem' (or 'PATH -> OTHER: problem' for a rename or link)."""
    reason = (error.strerror or str(error)).lower()
    if error.filename is None:
        return reason
    paths = os.fsdecode(error.filename)
    if error.filename2 is not None:
        paths += f" -> {os.fsdecode(error.filename2)}"
    return f"{paths}: {reason}"


def _unicode_error_line(error: UnicodeError) -> str:
    """A name (or text) that is not UTF-8, shown with backslash escapes, where it went wrong."""
    if isinstance(error, UnicodeEncodeError | UnicodeDecodeError):
        text = error.object[max(0, error.start - 60) : error.end + 60]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "backslashreplace")
        return f"{printable(text)}: not UTF-8 ({error.reason}); rename it or convert it to UTF-8"
    return f"not UTF-8: {error}"


# Paths are checked by the library, which names an unreadable one in one line (click's own
# check prints usage and exits 2, as for a mistyped flag).
PATH = click.Path(path_type=Path, readable=False)

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="replace output files that already exist"
)


def run_inputs(run_dir: Path) -> list[Path]:
    """The files a trained run is read from: never an output."""
    from imclass.models.history import HISTORY_FILE
    from imclass.models.run_dir import SPEC_FILE, WEIGHTS_FILE

    return [run_dir / name for name in (SPEC_FILE, WEIGHTS_FILE, HISTORY_FILE)]


@click.group(cls=ImclassGroup)
@click.version_option(package_name="imclass")
def main() -> None:
    """Turn a folder of your own photos into a strong image classifier."""


def _train_options(function):
    from imclass.models import DEFAULT_IMAGE_SIZE, DEFAULT_MODEL
    from imclass.train.config import TrainConfig

    d = TrainConfig()

    def setting(name: str, help: str | None = None) -> Callable:
        """The option of one TrainConfig field: its flag, type and default come from the field."""
        default, flag = getattr(d, name), "--" + name.replace("_", "-")
        if isinstance(default, bool):
            return click.option(
                f"{flag}/--no-{flag[2:]}", default=default, show_default=True, help=help
            )
        return click.option(flag, type=type(default), default=default, show_default=True, help=help)

    options = [
        click.option(
            "--model",
            default=d.model,
            help=f"any timm model name [default: {DEFAULT_MODEL} at {DEFAULT_IMAGE_SIZE} px]",
        ),
        setting("epochs", "fine-tuning epochs of the whole network (phase 2)"),
        setting(
            "head_epochs",
            "phase 1 on cached frozen features: a logistic-regression probe when > 0 "
            "(multi-label: this many epochs of the class-attention head)",
        ),
        setting("batch_size"),
        click.option(
            "--image-size",
            type=int,
            default=None,
            help="input size [default: 320 for the default model, else its pretrained size]",
        ),
        setting("lr", "phase-2 learning rate (AdamW, warm-up then cosine)"),
        setting(
            "frozen_fraction",
            "phase 2: the share of the backbone's earliest layer groups kept frozen",
        ),
        setting(
            "wise_alpha",
            "keep wise_alpha x fine-tuned + (1 - wise_alpha) x phase 2's start weights",
        ),
        setting("flip_tta", "predict on each image and its mirror image, where --augment flips"),
        setting("refit", "after validation, train again on train + validation images"),
        click.option(
            "--augment",
            type=click.Choice(["photo", "overhead", "text", "none"]),
            default=d.augment,
            show_default=True,
        ),
        setting("valid_fraction"),
        setting("seed"),
        setting("early_stopping", "stop after N fine-tuning epochs without improvement (0: never)"),
        click.option("--workers", type=int, default=None, help="image decoding processes"),
        click.option(
            "--cache/--no-cache",
            default=None,
            help="decode each image once and reuse it [default: on when images are > 2x the "
            "size training needs]",
        ),
        click.option(
            "--threshold-objective",
            type=click.Choice(["exact_match", "f1"]),
            default=d.threshold_objective,
            show_default=True,
            help="multi-label: what the thresholds tuned on validation maximise",
        ),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N]"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


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


@main.command()
@click.argument("data", required=False, type=PATH)
@click.option("--out", type=PATH, help="run directory [default: runs/DATA-TIME]")
@click.option("--resume", type=PATH, help="continue an interrupted run")
@click.option("--overwrite", is_flag=True, help="train again into a run directory that exists")
@_train_options
@data_options
def train(data, out, resume, overwrite, **settings):
    """Fine-tune a pretrained backbone on DATA (a folder per class, pre-split, or label file)."""
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
    _print_result(result)


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


def _headline(metrics: dict) -> str:
    if metrics.get("multilabel"):
        return (
            f"exact match {metrics['exact_match']:.4f}, Hamming accuracy "
            f"{metrics['hamming_accuracy']:.4f}, micro F1 {metrics['micro_f1']:.4f}"
        )
    return (
        f"accuracy {metrics['accuracy']:.4f}, balanced accuracy "
        f"{metrics['balanced_accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
    )


def _print_result(result) -> None:
    stdout.print(
        f"saved epoch: {result.best_epoch}; validation {_headline(result.metrics)} "
        f"({result.seconds:.0f} s)"
    )
    stdout.print(f"run directory: {result.run_dir}")
    stdout.print(f"report: {result.run_dir / 'report.html'}")


@main.command()
@click.argument("run_dir", type=PATH)
@click.argument("data", type=PATH)
@click.option(
    "--out",
    type=PATH,
    help="where metrics.json, predictions.csv and report.html go [default: RUN_DIR]",
)
@overwrite_option
@data_options
def evaluate(run_dir, data, out, overwrite, **settings):
    """Score RUN_DIR's model on DATA; writes metrics.json, predictions.csv and report.html."""
    from imclass.evaluate import evaluate_run
    from imclass.evaluate.evaluator import METRICS_FILE, PREDICTIONS_FILE, REPORT_FILE

    out = check_output(
        out or run_dir,
        [data, *run_inputs(run_dir)],
        overwrite=overwrite,
        kind="folder",
        writes=(METRICS_FILE, PREDICTIONS_FILE, REPORT_FILE),
        hint="choose another --out (a run directory's own files are its validation figures), "
        "or pass --overwrite to replace them",
    )
    metrics = evaluate_run(run_dir, data, out, options=label_options(settings))
    stdout.print(f"{_headline(metrics)} ({metrics['n_images']} images)")
    stdout.print(f"report: {out / 'report.html'}")


@main.command()
@click.argument("args", nargs=-1, required=True, type=PATH)
@click.option("--imagenet", is_flag=True, help="ImageNet classes with no training; ARGS are images")
@click.option("--model", default=None, help="backbone for --imagenet [default: the offline one]")
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=PATH, help="write to FILE instead of stdout")
@overwrite_option
def predict(args, imagenet, model, top_k, fmt, out, overwrite):
    """Predict: `imclass predict RUN_DIR PATH...` or `imclass predict --imagenet IMAGE...`."""
    from imclass.models.backbones import DEFAULT_MODEL
    from imclass.predict import Predictor, above_thresholds, expand_paths, imagenet_predictor
    from imclass.predict import top_k as rank

    if not imagenet and len(args) < 2:
        raise click.UsageError("give RUN_DIR and at least one image file or folder")
    inputs = args if imagenet else args[1:]
    if out is not None:
        read_from = [*inputs, *([] if imagenet else run_inputs(args[0]))]
        check_output(out, read_from, overwrite=overwrite)
    if imagenet:
        predictor = imagenet_predictor(model or DEFAULT_MODEL)
    else:
        predictor = Predictor.from_run_dir(args[0])
    from imclass.progress import Reporter

    paths = expand_paths(list(inputs))
    result = predictor.probabilities(paths, Reporter())
    spec = predictor.spec
    read = result.probs[result.readable]
    ranked_rows = (
        above_thresholds(read, spec.classes, spec.decision_thresholds())
        if spec.multilabel
        else rank(read, spec.classes, top_k)
    )
    outcome = {
        row: (ranked, "") for row, ranked in zip(result.readable.tolist(), ranked_rows, strict=True)
    }
    outcome.update({row: ([], reason) for row, reason in result.failures})
    rows = [(str(path), *outcome[row]) for row, path in enumerate(paths)]
    _emit(_render(rows, fmt, spec.multilabel), out, table=fmt == "table")


def _render(rows, fmt, multilabel: bool = False):
    if fmt == "json":
        return (
            json.dumps(
                [
                    {
                        "path": p,
                        "predictions": [
                            {"class": c, "probability": round(q, 6)} for c, q in ranked
                        ],
                        **({"error": e} if e else {}),
                    }
                    for p, ranked, e in rows
                ],
                indent=2,
            )
            + "\n"
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        k = max((len(r[1]) for r in rows), default=0)
        writer.writerow(
            ["path", *[f"{s}_{i + 1}" for i in range(k) for s in ("class", "prob")], "error"]
        )
        for p, ranked, e in rows:
            cells = [x for c, q in ranked for x in (c, f"{q:.6f}")]
            writer.writerow([p, *cells, *([""] * (2 * k - len(cells))), e])
        return buffer.getvalue()
    return _table(rows, multilabel)


def _table(rows, multilabel: bool) -> Table:
    if multilabel:
        table = Table("path", "labels (probability)")
        for p, ranked, e in rows:
            shown = ", ".join(f"{c} {q:.3f}" for c, q in ranked) or "(none above its threshold)"
            table.add_row(p, Text(f"unreadable: {e}", style="red") if e else shown)
        return table
    table = Table("path", "prediction", "probability", "others")
    for p, ranked, e in rows:
        if e:
            table.add_row(p, Text("unreadable", style="red"), "", e)
        else:
            rest = ", ".join(f"{c} {q:.3f}" for c, q in ranked[1:])
            table.add_row(p, ranked[0][0], f"{ranked[0][1]:.3f}", rest)
    return table


def _emit(rendered, out, table: bool) -> None:
    if out is None:
        stdout.print(rendered) if table else sys.stdout.write(rendered)
        return
    from imclass.files import write_text

    if table:
        console = LiteralConsole(file=io.StringIO(), width=160)
        console.print(rendered)
        rendered = console.file.getvalue()
    write_text(out, rendered)
    click.echo(f"wrote {out}", err=True)


@main.command()
def models():
    """Backbones you can train: which work offline now, input size, parameters."""
    from imclass.models.backbones import list_backbones

    table = Table("model", "offline now", "input size", "parameters")
    for row in list_backbones():
        name = row["name"] + (f" ({row['default']})" if row["default"] else "")
        table.add_row(
            name,
            "yes" if row["offline"] else "no (needs the hub)",
            str(row["input_size"]),
            f"{row['parameters'] / 1e6:.1f} M",
        )
    stdout.print(table)
    stdout.print("Any other timm model name also works when its weights can be fetched.")


@main.command()
@click.option("--out", type=PATH, default=Path("demo-output"), show_default=True)
@click.option("--overwrite", is_flag=True, help="run again into an --out folder that exists")
def demo(out, overwrite):
    """Offline end-to-end run on scikit-learn's handwritten digits."""
    from imclass.demo import run_demo

    check_output(out, [], overwrite=overwrite, kind="folder")
    result, predictions = run_demo(out)
    for path, ranked in predictions:
        stdout.print(f"predict {path}: {ranked[0][0]} ({ranked[0][1]:.3f})")
    _print_result(result)
    stdout.print(f"demo accuracy: {result.metrics['accuracy']:.4f}")


from imclass import cli_data  # noqa: E402, F401 - registers the data commands on main
