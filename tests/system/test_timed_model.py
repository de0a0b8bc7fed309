"""The model doctor times: its cache name holds all that changes the exported graph, and
without ONNX Runtime, auto times eager PyTorch and says why where onnx refuses."""

import pytest

from imclass.errors import ExportError
from imclass.inference.backends import TorchBackend
from imclass.models.backbones import default_preprocessing
from imclass.system import throughput, timed_model
from imclass.system.throughput import model_rate
from imclass.system.timed_model import cached_export, load_timed_model, timing_spec


def spec(name: str = "test_efficientnet", size: int = 64, flip_tta: bool = True):
    return timing_spec(name, default_preprocessing("test_efficientnet").at_size(size), flip_tta)


def test_the_cache_name_holds_model_size_flip_and_versions(tmp_path):
    path = cached_export(spec())
    assert path.parent == tmp_path / "imclass-cache" / "doctor"  # IMCLASS_CACHE_DIR (conftest)
    assert path.name.startswith("test_efficientnet-64px-flip-imclass")
    assert "-torch2." in path.name and path.suffix == ".onnx"
    others = {cached_export(spec(size=96)), cached_export(spec(flip_tta=False)), path}
    assert len(others) == 3
    assert cached_export(spec("hf-hub:org/model:v1")).name.startswith("hf-hub_org_model_v1-64px")


def test_without_onnx_runtime_auto_times_eager_pytorch_and_onnx_refuses(monkeypatch):
    monkeypatch.setattr(timed_model, "find_spec", lambda name: None)
    timed = load_timed_model(spec(), "auto")
    assert isinstance(timed.backend, TorchBackend) and timed.backend.spec.flip_tta
    assert timed.fallback == "ONNX Runtime is not installed (pip install onnxruntime)"
    images_per_s, batch = model_rate(timed.backend)
    assert images_per_s > 0 and batch == 32  # 64 px images: predict's 32 in one piece
    with pytest.raises(ExportError, match="^ONNX Runtime is not installed"):
        load_timed_model(spec(), "onnx")


class SlowToWarm:
    """A backend whose calls take 2.0, 1.5, 1.0, 1.0 ... seconds on a clock it moves itself, as
    ONNX Runtime's first batches of a new shape run slowly."""

    def __init__(self, clock: list[float], backend):
        self.clock, self.spec, self.calls = clock, backend.spec, 0

    def probabilities(self, pixels):
        self.clock[0] += (2.0, 1.5)[self.calls] if self.calls < 2 else 1.0
        self.calls += 1


def test_the_model_is_timed_warm(monkeypatch):
    """Timed from its first call, a model seen at half predict's speed over a folder made doctor
    call a folder of 12-MP JPEGs compute-bound that predict decodes slower than it scores."""
    clock = [0.0]
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: clock[0])
    backend = SlowToWarm(clock, load_timed_model(spec(), "torch").backend)
    images_per_s, batch = model_rate(backend)
    assert images_per_s == batch / 1.0  # only calls after the slow ones count
    assert backend.calls >= 3 + 2  # the two slow ones, the one that shows it is warm, then 2+
