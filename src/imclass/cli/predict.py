"""`imclass predict` (a trained run, or ImageNet classes with no training) and `imclass models`."""

from __future__ import annotations

import csv
import io
import json
import sys

import click
from rich.table import Table
from rich.text import Text

from imclass.cli.common import (
    PATH,
    monitor_option,
    overwrite_option,
    run_inputs,
    runtime_option,
    stdout,
    use_all_cores,
)
from imclass.files import check_output
from imclass.progress import LiteralConsole


@click.command()
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
@runtime_option
@monitor_option
def predict(args, imagenet, model, top_k, fmt, out, overwrite, runtime, monitor_every):
    """Predict: `imclass predict RUN_DIR PATH...`, `imclass predict MODEL.onnx PATH...` (a file
    `imclass export` wrote) or `imclass predict --imagenet IMAGE...`. With --out, samples of
    the machine go beside the file (preds.csv: preds.system.csv)."""
    use_all_cores()
    from imclass.inference import above_thresholds, expand_paths
    from imclass.inference import top_k as rank
    from imclass.models.run_dir import system_log_beside
    from imclass.progress import Reporter
    from imclass.system import monitored

    if not imagenet and len(args) < 2:
        raise click.UsageError("give RUN_DIR (or MODEL.onnx) and at least one image file or folder")
    inputs = args if imagenet else args[1:]
    system = None
    if out is not None:
        read_from = [*inputs, *([] if imagenet else _model_inputs(args[0]))]
        check_output(out, read_from, overwrite=overwrite)
        if monitor_every:
            system = check_output(system_log_beside(out), read_from, overwrite=overwrite)
    paths = expand_paths(list(inputs))  # before the model: a mistyped path costs no export
    predictor = _predictor(None if imagenet else args[0], model, runtime)
    reporter = Reporter()
    with monitored(reporter, system, every=monitor_every):
        result = predictor.probabilities(paths, reporter)
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


def _model_inputs(model) -> list:
    """What predict reads its model from: an exported file, or a run directory's files."""
    return [model] if model.is_file() else run_inputs(model)


def _predictor(model, imagenet_model: str | None, runtime: str):
    """The Predictor of a run directory, of an exported ONNX file, or (model None) ImageNet's."""
    from imclass.inference import Predictor, imagenet_predictor
    from imclass.models.backbones import DEFAULT_MODEL
    from imclass.progress import Reporter

    if model is None:
        if runtime == "onnx":
            raise click.UsageError("--imagenet scores with PyTorch; --runtime onnx needs a run")
        return imagenet_predictor(imagenet_model or DEFAULT_MODEL)
    if model.is_file():
        if runtime == "torch":
            raise click.UsageError(f"{model} is an exported file: it runs with --runtime onnx")
        return Predictor.from_onnx(model)
    return Predictor.from_run_dir(model, runtime=runtime, reporter=Reporter())


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


@click.command()
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
