"""The ONNX runtime gives the eager model's answers, through the same Predictor (files and
pictures in memory, multi-label, flip TTA and temperature included); a file that is not an
imclass export is refused with one message naming it."""

import os

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from tests.helpers import colour_image, onnx_file, scene

from imclass.errors import ExportError
from imclass.inference import ExportSettings, OnnxBackend, Predictor, export_run
from imclass.inference.exported import ExportDescription
from imclass.inference.parity import parity_images
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory

TINY = "test_efficientnet"  # timm's smallest EfficientNet, built without weights


def tiny_spec(size: int = 64) -> ModelSpec:
    """Multi-label, class attention, temperature and flip TTA: every step the export carries."""
    return ModelSpec(
        TINY,
        ("a", "b", "c"),
        default_preprocessing(TINY).at_size(size),
        multilabel=True,
        thresholds=(0.4, 0.5, 0.6),
        head="csra",
        temperature=2.0,
        flip_tta=True,
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An untrained multi-label run and its model.onnx (any batch, opset 21)."""
    run = tmp_path_factory.mktemp("run")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        RunDirectory(run).write_model(build_model(TINY, 3, "csra", pretrained=False), tiny_spec())
    settings = ExportSettings(dynamic_batch=True, opset=21)
    result = export_run(run, RunDirectory(run).onnx_path, settings)
    assert result.parity.passed() and result.parity.source == "8 generated pictures"
    assert [(o.domain, o.version) for o in onnx.load(str(result.path)).opset_import] == [("", 21)]
    return run


@pytest.fixture
def files(tmp_path):
    """Six readable pictures of several sizes and modes, and an empty file among them."""
    pictures = [colour_image((200, 40, 40), 48, seed=1), scene(2, (120, 80))]
    pictures += [scene(3, (60, 90)).convert("L"), colour_image((40, 60, 200), 80, seed=4)]
    pictures += [scene(5, (200, 150)), colour_image((40, 170, 60), 48, seed=6).convert("RGBA")]
    paths = []
    for i, picture in enumerate(pictures):
        paths.append(tmp_path / f"{i}.png")
        picture.save(paths[-1])
    (tmp_path / "empty.jpg").write_bytes(b"")
    return [*paths[:3], tmp_path / "empty.jpg", *paths[3:]]


def test_onnx_and_torch_predictors_answer_alike_for_files_and_pictures(exported, files):
    onnx_predictor = Predictor.from_run_dir(exported, runtime="onnx", batch_size=4)
    torch_predictor = Predictor.from_run_dir(exported, runtime="torch", batch_size=4)
    assert (onnx_predictor.runtime, torch_predictor.runtime) == ("onnx", "torch")
    assert onnx_predictor.spec == torch_predictor.spec == tiny_spec()
    fast, eager = onnx_predictor.probabilities(files), torch_predictor.probabilities(files)
    assert fast.readable.tolist() == eager.readable.tolist() == [0, 1, 2, 4, 5, 6]
    assert fast.failures == eager.failures == [(3, "zero bytes")]
    np.testing.assert_allclose(fast.probs, eager.probs, atol=1e-5)  # NaN rows alike too
    assert np.ptp(eager.probs[eager.readable], axis=0).max() > 1e-3  # pictures told apart
    pictures = [Image.open(path) for path in files if path.stat().st_size]
    np.testing.assert_allclose(
        onnx_predictor.predict_images(pictures), eager.probs[eager.readable], atol=1e-5
    )


def test_worker_threads_keep_every_row_in_place(exported, files):
    """Batches of two decoded by three threads: rows, failures and values as in one thread."""
    threaded = Predictor.from_run_dir(exported, runtime="onnx", batch_size=2, workers=3)
    inline = Predictor.from_run_dir(exported, runtime="onnx", batch_size=2, workers=0)
    asked = [*files, files[0], files[3]]
    got, expected = threaded.probabilities(asked), inline.probabilities(asked)
    assert got.failures == expected.failures == [(3, "zero bytes"), (8, "zero bytes")]
    np.testing.assert_array_equal(got.probs, expected.probs)
    np.testing.assert_array_equal(got.probs[7], got.probs[0])


def test_the_logits_are_the_probabilities_before_temperature(exported):
    backend = OnnxBackend(RunDirectory(exported).onnx_path)
    batch = parity_images(RunDirectory(exported), backend.spec).pixels
    logits, probs = backend.logits(batch), backend.probabilities(batch)
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits / 2.0)), atol=1e-6)


def test_random_bytes_a_foreign_model_and_another_input_are_refused_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ExportError, match=f"^{garbage}: not a readable ONNX model"):
        OnnxBackend(garbage)
    foreign = onnx_file(tmp_path / "foreign.onnx")
    with pytest.raises(ExportError, match=f"^{foreign}: not a model exported by imclass"):
        OnnxBackend(foreign)
    described = ExportDescription(tiny_spec(size=96), "0" * 64).to_metadata()
    wrong_size = onnx_file(tmp_path / "wrong.onnx", metadata=described)
    with pytest.raises(ExportError) as refused:
        OnnxBackend(wrong_size)
    assert str(refused.value).startswith(
        f"{wrong_size}: takes 'pixels' of tensor(uint8) ['N', 3, 64, 64], where its imclass "
        "metadata says one input 'pixels' of uint8 N x 3 x 96 x 96"
    )
    with pytest.raises(ExportError, match=f"^{tmp_path / 'none.onnx'}: no such file"):
        OnnxBackend(tmp_path / "none.onnx")
    os.mkfifo(tmp_path / "fifo.onnx")
    with pytest.raises(ExportError, match=f"^{tmp_path / 'fifo.onnx'}: not a model file"):
        OnnxBackend(tmp_path / "fifo.onnx")


def test_warm_up_runs_until_a_call_is_no_faster(monkeypatch):
    """Calls taking 2.0, 1.5, 1.2, 1.0, 1.0 s: warm after the fifth, which is no faster than
    the fourth; a runtime that never settles is cut at WARM_UP_CALLS."""
    from imclass.inference import backends

    clock = [0.0]
    monkeypatch.setattr(backends.time, "perf_counter", lambda: clock[0])
    durations = iter([2.0, 1.5, 1.2, 1.0, 1.0, 1.0])
    assert backends.warm_up(lambda: clock.__setitem__(0, clock[0] + next(durations)), 9) == 5
    faster_each_time = iter([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    step = lambda: clock.__setitem__(0, clock[0] + next(faster_each_time))  # noqa: E731
    assert backends.warm_up(step) == backends.WARM_UP_CALLS
