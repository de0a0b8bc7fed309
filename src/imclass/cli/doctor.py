"""`imclass doctor [DATA] [--json]`: this machine, and where a folder's images would be slow."""

from __future__ import annotations

import json

import click

from imclass.cli.common import PATH, runtime_choice, stdout, use_all_cores

RUNTIME_NAMES = {"onnx": "ONNX Runtime", "torch": "eager PyTorch"}


@click.command()
@click.argument("data", required=False, type=PATH)
@click.option("--json", "as_json", is_flag=True, help="print the findings as one JSON object")
@click.option(
    "--model",
    default=None,
    help="the model whose speed DATA's decoding is measured against [default: train's]",
)
@click.option("--image-size", type=click.IntRange(16, 2048), help="its input size [its default]")
@click.option(
    "--flip-tta/--no-flip-tta",
    default=True,
    show_default=True,
    help="time it scoring each image and its mirror image, as trained models do by default",
)
@runtime_choice(
    "time it as predict --runtime runs it: onnx: ONNX Runtime on an export made once and "
    "cached; torch: eager PyTorch; auto: onnx, but torch on a GPU or when no export can be made"
)
def doctor(data, as_json, model, image_size, flip_tta, runtime):
    """Devices, versions, offline weights and the model hub; for DATA, its storage, its images
    above 4 MP and whether decoding or the model sets the pace (measured in a few seconds)."""
    from imclass.models import DEFAULT_MODEL
    from imclass.progress import Reporter
    from imclass.system.doctor import Timing, examine_data, examine_machine, report

    use_all_cores()
    timing = Timing(model or DEFAULT_MODEL, image_size, flip_tta, runtime)
    checked = None if data is None else examine_data(data, timing, Reporter())
    found = report(examine_machine(), checked)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for name, value in _lines(found):
        stdout.print(f"{name:<10} {value}", highlight=False, markup=False)


def _lines(found: dict) -> list[tuple[str, str]]:
    machine = found["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    weights = ", ".join(
        f"{name} {'yes' if has else 'no'}" for name, has in machine["offline_weights"].items()
    )
    lines = [
        ("versions", versions),
        ("cpu", _cpu_line(machine["cpu"])),
        ("gpu", _gpu_line(machine)),
        ("weights", f"offline: {weights}"),
        ("model hub", machine["hub"]),
    ]
    return lines + ([] if found["data"] is None else _data_lines(found["data"]))


def _cpu_line(cpu: dict) -> str:
    cores = (
        f"{cpu['logical_cores']} logical / {cpu['physical_cores'] or '?'} physical cores, "
        f"{cpu['usable_cores']} usable"
    )
    sets = " ".join(cpu["instruction_sets"]) or "none of the vector extensions looked for"
    load = "" if cpu["load_average"] is None else f"; load average {cpu['load_average']}"
    return f"{cpu['model']}: {cores}; {sets}{load}"


def _gpu_line(machine: dict) -> str:
    if not machine["cuda"]:
        return "none (CUDA not available): models run on the CPU"
    gpus = "; ".join(f"{g['name']} {g['memory_gb']} GB" for g in machine["gpus"])
    return f"{gpus} (driver {machine['driver'] or 'unknown: install nvidia-ml-py to read it'})"


def _data_lines(data: dict) -> list[tuple[str, str]]:
    from imclass.system.storage import Storage

    sizes, speed = data["sizes"], data["throughput"]
    read = "" if sizes["read"] == sizes["images"] else f" (of {sizes['read']} sampled)"
    decoding = (
        f"{speed['decode_images_per_s']:.1f} images/s ({speed['decoded']} sampled, "
        f"{speed['decode_threads']} threads, as predict decodes for {speed['image_size']} px)"
    )
    return [
        ("data", f"{data['path']}: {sizes['images']} images, {sizes['large']} above 4 MP{read}"),
        ("storage", Storage(**data["storage"]).describe()),
        ("decoding", decoding),
        ("model", _model_line(speed)),
        ("ratio", f"{data['ratio']:.2f} (decoding's time per image over the model's)"),
        ("verdict", data["advice"]),
    ]


def _model_line(speed: dict) -> str:
    runtime = RUNTIME_NAMES[speed["runtime"]]
    if speed["fallback"]:
        runtime += f", not ONNX Runtime ({speed['fallback']})"
    flip = ", flip TTA" if speed["flip_tta"] else ""
    return (
        f"{speed['model_images_per_s']:.1f} images/s ({speed['model']} at {speed['image_size']} "
        f"px{flip}, {runtime} on {speed['device']}, batch {speed['batch']})"
    )
