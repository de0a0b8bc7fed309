"""An export answers as the eager model does on the run's own validation images, or is not
written; its description says what run and preprocessing it is; a quantized one reports how far
it moved."""

import json
import shutil

import numpy as np
import pytest
import torch

from imclass.errors import ExportError
from imclass.inference import ExportSettings, OnnxBackend, Predictor, export_run
from imclass.inference.end_to_end import EndToEndModel
from imclass.inference.parity import TOLERANCE, parity_images
from imclass.models.run_dir import RunDirectory

pytestmark = pytest.mark.slow  # a tiny training (~15 s, once), then a real export per test (~10 s)


@pytest.fixture
def run(red_blue_run, tmp_path):
    """A copy of the trained run, for a test to write into."""
    return shutil.copytree(red_blue_run, tmp_path / "run")


def test_onnx_export_answers_as_the_eager_model_on_the_validation_images(run, tmp_path):
    validation = RunDirectory(run).read_predictions().paths
    result = export_run(run, tmp_path / "model.onnx")
    assert result.path == tmp_path / "model.onnx" and result.description is None
    assert result.parity.source == f"{len(validation)} validation images of the run"
    assert result.parity.passed() and result.parity.max_difference <= TOLERANCE
    assert result.parity.agreeing == result.parity.images == len(validation)
    assert result.parity.accuracy[0] == result.parity.accuracy[1]
    backend = OnnxBackend(result.path)
    assert backend.one_at_a_time  # no --dynamic-batch: one image a run, as it says
    assert backend.spec == RunDirectory(run).read_spec()
    assert backend.description.weights_sha256 == RunDirectory(run).weights_digest()
    assert backend.description.quantization == "none"
    from_file = Predictor.from_onnx(result.path, workers=0).probabilities(validation)
    eager = Predictor.from_run_dir(run, workers=0).probabilities(validation)
    np.testing.assert_allclose(from_file.probs, eager.probs, atol=TOLERANCE)
    assert (from_file.probs.argmax(1) == eager.probs.argmax(1)).all()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_takes_any_batch_and_is_described_beside_it(run, tmp_path):
    out = tmp_path / "model.pt"
    result = export_run(run, out, ExportSettings(format="torchscript"))
    assert result.parity.passed() and result.description == tmp_path / "model.pt.json"
    described = json.loads(result.description.read_text())
    spec = RunDirectory(run).read_spec()
    assert described["model"]["classes"] == list(spec.classes) == ["blue", "red"]
    assert described["weights_sha256"] == RunDirectory(run).weights_digest()
    assert described["input"].startswith("pixels: uint8 RGB, N x 3 x 64 x 64")
    pixels = parity_images(RunDirectory(run), spec).pixels[:3]
    model, _ = RunDirectory(run).load_model()
    with torch.inference_mode():
        logits, probs = torch.jit.load(str(out))(pixels)  # the file this test just wrote
        eager = EndToEndModel(model, spec).eval()(pixels)
    assert probs.shape == (3, 2)
    torch.testing.assert_close(probs, eager[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(logits, eager[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["dynamic", "static"])
def test_a_quantized_export_reports_how_far_it_moved_instead_of_failing(run, kind):
    result = export_run(run, settings=ExportSettings(quantize=kind, dynamic_batch=True))
    assert result.path == RunDirectory(run).quantized_onnx_path
    assert not RunDirectory(run).onnx_path.exists()  # model.onnx stays the exact model
    parity = result.parity
    validation = RunDirectory(run).read_predictions().paths
    assert parity.source == f"{len(validation)} validation images of the run"
    assert 0 < parity.max_difference < 0.5 and parity.accuracy is not None
    assert f"same decision on {parity.agreeing} of {parity.images}" in parity.describe()
    backend = OnnxBackend(result.path)
    assert backend.description.quantization == f"{kind}-int8" and not backend.one_at_a_time
    assert result.path.stat().st_size < RunDirectory(run).weights_path.stat().st_size * 0.6
    probs = Predictor(backend, backend.spec).probabilities(validation).probs
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_an_export_that_fails_its_parity_check_leaves_nothing_behind(run, tmp_path):
    out = tmp_path / "exports" / "model.onnx"
    out.parent.mkdir()
    with pytest.raises(ExportError) as failure:
        export_run(run, out, ExportSettings(tolerance=0.0))  # float32 graphs differ by ~1e-7
    message = str(failure.value)
    assert message.startswith(f"{out}: the exported model does not answer as the eager one")
    assert "max |difference in probability|" in message and "nothing was written" in message
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary one
