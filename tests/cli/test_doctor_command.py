"""`imclass doctor`: a folder of 12-megapixel photos is decode-bound for a fast model, and says
by how much; the model is timed in ONNX Runtime on an export made once and cached, or in eager
PyTorch when asked or when no export can be made; --json holds the same findings; a missing
folder is one error line."""

import json

import numpy as np
import pytest
from PIL import Image
from tests.helpers import invoke, make_image_folder, one_error_line

# timm's test_efficientnet at 64 px scores hundreds of images a second on 2 busy cores, and
# exports to ONNX in seconds; decoding a 12-MP JPEG takes 25-60 ms of one core even at reduced
# scale, so such a folder is decode-bound for it. FAST_MODEL is timed in eager PyTorch: no
# export to wait for (the ONNX path has its own tests).
TINY_MODEL = ("--model", "test_efficientnet", "--image-size", "64")
FAST_MODEL = (*TINY_MODEL, "--runtime", "torch")


@pytest.fixture(scope="module")
def twelve_megapixels(tmp_path_factory):
    """Three 4000 x 3000 JPEGs: a gradient under sensor-like noise (compresses as photos do)."""
    folder = tmp_path_factory.mktemp("12mp")
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([x * 255 / 4000, y * 255 / 3000, (x + y) * 255 / 7000], -1)
    noise = np.random.default_rng(0).normal(0, 12, base.shape)
    for i in range(3):
        pixels = np.clip(base + np.roll(noise, 997 * i, axis=1), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i}.jpg", quality=90)
    return folder


def test_a_folder_of_12_megapixel_photos_is_decode_bound(twelve_megapixels):
    result = invoke("doctor", twelve_megapixels, *FAST_MODEL)
    assert result.exit_code == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert lines["data"].endswith(": 3 images, 3 above 4 MP")
    assert float(lines["ratio"].split()[0]) >= 1
    assert lines["verdict"].startswith("decode-bound: decoding takes ")
    assert "`imclass downsize DATA SMALLER` (to 4 MP)" in lines["verdict"]
    assert "(test_efficientnet at 64 px, flip TTA, eager PyTorch on cpu, batch " in lines["model"]


def test_json_holds_the_machine_and_the_data(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    result = invoke("doctor", data, "--json", *FAST_MODEL)
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    machine, checked = found["machine"], found["data"]
    assert set(machine) == {
        "versions", "cpu", "cuda", "driver", "gpus", "offline_weights", "hub",
    }  # fmt: skip
    assert {"torch", "torchvision", "timm", "onnxruntime", "imclass"} <= set(machine["versions"])
    assert machine["hub"] == "offline (HF_HUB_OFFLINE is set)"
    assert machine["cpu"]["usable_cores"] >= 1
    assert checked["sizes"] == {"images": 6, "read": 6, "large": 0, "unreadable": 0}
    assert checked["storage"]["network"] is False
    assert checked["verdict"] in ("decode-bound", "compute-bound")
    assert checked["ratio"] > 0 and checked["throughput"]["decoded"] == 6
    assert checked["advice"].startswith(checked["verdict"])
    timed = checked["throughput"]
    assert (timed["runtime"], timed["flip_tta"], timed["fallback"]) == ("torch", True, None)


def test_the_model_is_exported_once_and_timed_in_onnx_runtime(tmp_path, monkeypatch):
    monkeypatch.delenv("IMCLASS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    first = invoke("doctor", data, "--json", *TINY_MODEL)
    assert first.exit_code == 0, first.stderr
    cached = tmp_path / "xdg" / "imclass" / "doctor"
    (export,) = cached.iterdir()
    assert export.name.startswith("test_efficientnet-64px-flip-imclass")
    assert export.name.endswith(".onnx")
    assert f"ONNX Runtime; exporting it once, cached in {export}" in first.stderr
    made = export.stat().st_mtime_ns

    again = invoke("doctor", data, "--json", *TINY_MODEL)
    assert again.exit_code == 0, again.stderr
    assert f"ONNX Runtime on {export}" in again.stderr and "exporting" not in again.stderr
    assert export.stat().st_mtime_ns == made and list(cached.iterdir()) == [export]
    timed = json.loads(again.stdout)["data"]["throughput"]
    assert (timed["runtime"], timed["device"], timed["batch"]) == ("onnx", "cpu", 32)
    assert timed["model_images_per_s"] > 0 and timed["fallback"] is None


def test_without_an_export_auto_times_eager_pytorch_and_says_why(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("IMCLASS_CACHE_DIR", str(tmp_path / "a-file" / "cache"))
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    result = invoke("doctor", data, *TINY_MODEL)
    assert result.exit_code == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if line.strip())
    assert "flip TTA, eager PyTorch, not ONNX Runtime (" in lines["model"]
    assert f"{tmp_path / 'a-file'}" in lines["model"]
    assert "; timing eager PyTorch instead" in result.stderr

    line = one_error_line(invoke("doctor", data, *TINY_MODEL, "--runtime", "onnx"))
    assert line.startswith(f"error: {tmp_path / 'a-file' / 'cache' / 'doctor'}/test_efficientnet-")
    assert ": cannot write there" in line


def test_without_data_only_the_machine_is_examined():
    result = invoke("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["data"] is None


def test_a_missing_folder_is_one_error_line(tmp_path):
    line = one_error_line(invoke("doctor", tmp_path / "nowhere"))
    assert (
        line
        == f"error: {tmp_path / 'nowhere'}: no such folder; give the folder of images to examine"
    )
