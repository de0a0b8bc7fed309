"""`imclass export`: a run's model as one ONNX or TorchScript file, checked before it is written."""

from __future__ import annotations

import click

from imclass.cli.common import PATH, overwrite_option, run_inputs, stdout, use_all_cores
from imclass.files import check_output


@click.command("export")
@click.argument("run_dir", type=PATH)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "torchscript"]),
    default="onnx",
    show_default=True,
    help="ONNX (ONNX Runtime, and most other runtimes) or TorchScript (PyTorch's C++ API)",
)
@click.option(
    "--out",
    type=PATH,
    help="the file to write [default: RUN_DIR/model.onnx, model.int8.onnx when quantized, "
    "model.torchscript.pt with model.torchscript.pt.json beside it]",
)
@click.option("--opset", type=int, help="ONNX opset, 18 to 23 [default: 18]")
@click.option(
    "--dynamic-batch", is_flag=True, help="ONNX: take any number of images a run [default: one]"
)
@click.option(
    "--quantize",
    type=click.Choice(["dynamic", "static"]),
    help="ONNX: int8 weights; static also int8 activations, calibrated on the parity images "
    "(up to 64), and runs ~2x faster on the CPU, dynamic slower; the parity check then reports "
    "how much the answers change instead of failing",
)
@click.option(
    "--images",
    type=PATH,
    help="a folder of images for the parity check (and a static quantization's calibration) "
    "[default: the run's validation images, else 8 generated pictures]",
)
@overwrite_option
def export(run_dir, fmt, out, opset, dynamic_batch, quantize, images, overwrite):
    """Write RUN_DIR's model, from pixels to probabilities, as one file; it is checked against
    the model in PyTorch on real images and written only if it answers the same."""
    use_all_cores()
    from imclass.inference.export import ExportSettings, default_out, export_run
    from imclass.inference.exported import description_path
    from imclass.models.run_dir import RunDirectory
    from imclass.progress import Reporter

    settings = ExportSettings(fmt, opset, dynamic_batch, quantize, images).check()
    out = out or default_out(RunDirectory(run_dir), settings)
    inputs = [*run_inputs(run_dir), *([images] if images else [])]
    check_output(out, inputs, overwrite=overwrite)
    if fmt == "torchscript":
        check_output(description_path(out), inputs, overwrite=overwrite)
    result = export_run(run_dir, out, settings, Reporter())
    megabytes = result.path.stat().st_size / 1e6
    stdout.print(f"wrote {result.path} ({megabytes:.1f} MB, {result.seconds:.0f} s)")
    if result.description is not None:
        stdout.print(f"wrote {result.description}")
    stdout.print(f"parity {result.parity.describe()}")
