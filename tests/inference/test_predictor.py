"""Predictions stay aligned with the paths asked for: by row, never by path."""

import os

import numpy as np
import pytest
from tests.helpers import colour_image

from imclass import ImageClassifier
from imclass.errors import DataError
from imclass.inference import Predictor, expand_paths
from imclass.models import DEFAULT_MODEL
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained two-class model at 64 px: enough to check where each row goes."""
    directory = tmp_path_factory.mktemp("model")
    spec = ModelSpec(DEFAULT_MODEL, ("a", "b"), default_preprocessing(DEFAULT_MODEL).at_size(64))
    RunDirectory(directory).write_model(build_model(DEFAULT_MODEL, 2, pretrained=False), spec)
    return directory


@pytest.fixture
def images(tmp_path):
    colour_image((200, 40, 40), 48, seed=1).save(tmp_path / "x.png")
    colour_image((40, 60, 200), 48, seed=2).save(tmp_path / "y.png")
    (tmp_path / "bad.jpg").write_bytes(b"")
    return tmp_path / "x.png", tmp_path / "y.png", tmp_path / "bad.jpg"


def test_rows_follow_the_input_order_with_repeats_and_failures(model_dir, images):
    x, y, bad = images
    predictor = Predictor.from_run_dir(model_dir, workers=0)
    result = predictor.probabilities([x, bad, x, y, x])
    assert result.probs.shape == (5, 2)
    assert result.readable.tolist() == [0, 2, 3, 4]
    assert result.failures == [(1, "zero bytes")]
    assert np.isnan(result.probs[1]).all()
    np.testing.assert_allclose(result.probs[result.readable].sum(1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(result.probs[0], result.probs[2])
    np.testing.assert_array_equal(result.probs[0], result.probs[4])
    only_y = predictor.probabilities([y]).probs[0]
    # alone or in a batch of five, the CPU kernels may sum in another order: ~1e-6 apart
    np.testing.assert_allclose(result.probs[3], only_y, atol=1e-5)


def test_classifier_predicts_a_row_for_every_repeated_path(model_dir, images):
    x, y, bad = images
    clf = ImageClassifier.load(model_dir, verbose=False, workers=0)
    alone = clf.predict([x])[0]
    assert alone in ("a", "b")
    assert clf.predict([x, x]) == [alone, alone]
    assert clf.predict([x, bad, x]) == [alone, None, alone]
    probs = clf.predict_proba([x, x, bad])
    np.testing.assert_array_equal(probs[0], probs[1])
    assert not np.isnan(probs[0]).any() and np.isnan(probs[2]).all()


def test_temperature_and_flip_tta_from_model_json_shape_the_probabilities(tmp_path, images):
    import torch
    from PIL import Image

    from imclass.data.transforms import eval_transform

    x, _, _ = images
    network = build_model(DEFAULT_MODEL, 2, pretrained=False).eval()
    plain = ModelSpec(DEFAULT_MODEL, ("a", "b"), default_preprocessing(DEFAULT_MODEL).at_size(64))
    tuned = ModelSpec(plain.architecture, plain.classes, plain.preprocessing)
    tuned = type(plain)(**{**tuned.__dict__, "temperature": 2.0, "flip_tta": True})
    RunDirectory(tmp_path / "tuned").write_model(network, tuned)
    got = Predictor.from_run_dir(tmp_path / "tuned", workers=0).probabilities([x]).probs[0]
    inputs = eval_transform(plain.preprocessing)(Image.open(x).convert("RGB"))[None]
    with torch.no_grad():
        logits = (network(inputs) + network(inputs.flip(3))) / 2
    np.testing.assert_allclose(got, (logits / 2.0).softmax(1)[0].numpy(), atol=1e-5)


def test_a_pipe_among_the_paths_is_named_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    with pytest.raises(DataError, match="pipe.jpg: not an image file or folder"):
        expand_paths([tmp_path / "pipe.jpg"])


def test_a_predictor_leaves_the_thread_count_and_the_global_rng_alone(model_dir, images):
    import torch

    network, spec = RunDirectory(model_dir).load_model()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # not what "every core" would set, even on a one-core machine
    try:
        rng = torch.random.get_rng_state()
        predictor = Predictor(network, spec, workers=0)
        assert torch.get_num_threads() == 1
        assert torch.equal(torch.random.get_rng_state(), rng)
        assert predictor.probabilities([images[0]]).readable.tolist() == [0]
        assert torch.get_num_threads() == 1
        assert torch.equal(torch.random.get_rng_state(), rng)
    finally:
        torch.set_num_threads(threads)
