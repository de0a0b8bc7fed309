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
@click.option(
    "--model", default=None, help="backbone for --imagenet [default: tf_efficientnet_lite2]"
)
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=PATH, help="write to FILE instead of stdout (--shard: a folder)")
@overwrite_option
@runtime_option
@click.option(
    "--shard",
    metavar="I/N",
    help="score only block I (from 0) of N of the file list, into "
    "OUT/predictions.shard-I-of-N.json [default under torchrun: RANK/WORLD_SIZE]",
)
@click.option(
    "--merge", is_flag=True, help="ARGS are shard files or folders of them: join them into one"
)
@monitor_option
@click.pass_context
def predict(
    ctx, args, imagenet, model, top_k, fmt, out, overwrite, runtime, shard, merge, monitor_every
):
    """Predict: `imclass predict RUN_DIR PATH...`, `imclass predict MODEL.onnx PATH...` (a file
    `imclass export` wrote) or `imclass predict --imagenet IMAGE...`; `--shard I/N` scores one
    block of the files, `imclass predict --merge SHARDS...` joins the blocks. With --out,
    samples of the machine go beside the file (preds.csv: preds.system.csv; a shard's beside
    its shard file)."""
    if merge:
        _refuse_given(
            ctx, ("imagenet", "model", "top_k", "runtime", "shard", "monitor_every"), "--merge"
        )
        return _merge(list(args), fmt, out, overwrite)
    from imclass.inference.shards import parse_shard, shard_from_environment

    use_all_cores()
    shard = parse_shard(shard) if shard else shard_from_environment()
    if shard is not None:
        _refuse_given(ctx, ("fmt",), "--shard")
        if out is None:
            raise click.UsageError("--shard writes its file into a folder: give it with --out")
    if not imagenet and len(args) < 2:
        raise click.UsageError("give RUN_DIR (or MODEL.onnx) and at least one image file or folder")
    source, inputs = (None, args) if imagenet else (args[0], args[1:])
    system = None
    if out is not None:
        read_from = [*inputs, *([] if imagenet else _model_inputs(source))]
        _check_out(out, read_from, overwrite, shard)
        if monitor_every:
            system = _system_log(out, shard, read_from, overwrite)
    from imclass.inference import expand_paths
    from imclass.progress import Reporter
    from imclass.system import monitored

    paths = expand_paths(list(inputs))  # before the model: a mistyped path costs no export
    scored = paths if shard is None else [paths[i] for i in shard.block(len(paths))]
    predictor = _predictor(source, model, runtime)
    reporter = Reporter()
    with monitored(reporter, system, every=monitor_every):
        rows = _rows(predictor, scored, top_k, reporter)
    if shard is None:
        _emit(_render(rows, fmt, predictor.spec.multilabel), out, table=fmt == "table")
        return
    written = _write_shard(out, shard, paths, rows, predictor, (source, model, top_k))
    click.echo(f"wrote {written} ({len(rows)} of {len(paths)} files)", err=True)


def _refuse_given(ctx, names: tuple[str, ...], mode: str) -> None:
    """A usage error for an option given on the command line that mode does not use."""
    from click.core import ParameterSource

    for param in ctx.command.params:
        if (
            param.name in names
            and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
        ):
            raise click.UsageError(f"{param.opts[0]} does not apply to {mode}")


def _check_out(out, read_from: list, overwrite: bool, shard) -> None:
    if shard is None:
        check_output(out, read_from, overwrite=overwrite)
    else:
        check_output(out, read_from, overwrite=overwrite, kind="folder", writes=[shard.file_name])


def _system_log(out, shard, read_from: list, overwrite: bool):
    """Where the samples of the machine go: beside the output file, or the shard's file."""
    from pathlib import Path

    from imclass.models.run_dir import system_log_beside

    beside = out if shard is None else Path(out) / shard.file_name
    return check_output(system_log_beside(beside), read_from, overwrite=overwrite)


def _rows(predictor, paths: list, top_k: int, reporter) -> list:
    """(path, [(class, probability), ...], error) per path, in order: the k most probable
    classes, or (multi-label) those above their thresholds; an unreadable file's reason."""
    from imclass.inference import above_thresholds
    from imclass.inference import top_k as rank

    if not paths:
        return []
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
    return [(str(path), *outcome[row]) for row, path in enumerate(paths)]


def _write_shard(out, shard, paths: list, rows: list, predictor, source) -> object:
    """The shard's file, with what the merge checks: its place, the list, model and settings."""
    from imclass.inference.shards import ShardResult, list_digest, model_identity, write_shard

    model, imagenet_model, top_k = source
    settings = {
        "runtime": predictor.runtime,
        "top_k": top_k,
        "multilabel": predictor.spec.multilabel,
    }
    identity = model_identity(
        predictor.spec.to_json(), _weights_digest(model, imagenet_model, predictor)
    )
    result = ShardResult(shard, len(paths), list_digest(paths), identity, settings, tuple(rows))
    return write_shard(out, result)


def _weights_digest(model, imagenet_model: str | None, predictor) -> str:
    """The weights' sha256: the run's model.safetensors (that an export records too), or the
    pretrained backbone's name for --imagenet."""
    from imclass.models import IMAGENET_MODEL
    from imclass.models.run_dir import RunDirectory

    if model is None:
        return f"pretrained {imagenet_model or IMAGENET_MODEL}"
    if model.is_file():
        return predictor.backend.description.weights_sha256
    return RunDirectory(model).weights_digest()


def _merge(inputs: list, fmt: str, out, overwrite: bool) -> None:
    """Join shard files (or the folders holding them) into one output, as one run writes it."""
    from imclass.inference.shards import merge_shards, shard_files

    files = shard_files(inputs)
    if out is not None:
        check_output(out, files, overwrite=overwrite)
    rows, first = merge_shards(files)
    _emit(_render(rows, fmt, first.settings["multilabel"]), out, table=fmt == "table")


def _model_inputs(model) -> list:
    """What predict reads its model from: an exported file, or a run directory's files."""
    return [model] if model.is_file() else run_inputs(model)


def _predictor(model, imagenet_model: str | None, runtime: str):
    """The Predictor of a run directory, of an exported ONNX file, or (model None) ImageNet's.
    Under torchrun each process takes its own GPU (LOCAL_RANK), when there are GPUs."""
    from imclass.inference import Predictor, imagenet_predictor
    from imclass.progress import Reporter

    if model is None:
        if runtime == "onnx":
            raise click.UsageError("--imagenet scores with PyTorch; --runtime onnx needs a run")
        return imagenet_predictor(imagenet_model, device=_local_device())
    if model.is_file():
        if runtime == "torch":
            raise click.UsageError(f"{model} is an exported file: it runs with --runtime onnx")
        return Predictor.from_onnx(model)
    return Predictor.from_run_dir(
        model, runtime=runtime, device=_local_device(), reporter=Reporter()
    )


def _local_device() -> str:
    """cuda:LOCAL_RANK under torchrun (or any launcher that sets it) on a machine with GPUs;
    else 'auto', the one GPU or the CPU."""
    import os

    import torch

    local_rank = os.environ.get("LOCAL_RANK", "")
    if local_rank.isdigit() and torch.cuda.is_available():
        return f"cuda:{int(local_rank) % torch.cuda.device_count()}"
    return "auto"


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
    stdout.print(
        "Any other timm model name also works when its weights can be fetched; CNNs normalised "
        "alike can be joined with '+' (one input, their feature maps stacked)."
    )
