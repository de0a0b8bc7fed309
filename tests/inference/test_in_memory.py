"""Predictions on pictures in memory (webcam frames, uploads) are the ones their files get."""

import numpy as np
import pytest
import torch
from PIL import Image
from tests.helpers import colour_image, scene

from imclass.data.uploads import decode_upload
from imclass.inference import Predictor, imagenet_predictor, top_k
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory

TINY = "test_efficientnet"  # timm's smallest EfficientNet, built without weights


@pytest.fixture(scope="module", params=[False, True], ids=["single-label", "multi-label"])
def predictor(request, tmp_path_factory) -> Predictor:
    """An untrained three-class model at 64 px with a temperature and flip TTA, read back from
    its run directory; batches of two, so five pictures take three."""
    directory = tmp_path_factory.mktemp("run")
    pre = default_preprocessing(TINY).at_size(64)
    spec = ModelSpec(
        TINY, ("a", "b", "c"), pre, multilabel=request.param, temperature=2.0, flip_tta=True
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        RunDirectory(directory).write_model(build_model(TINY, 3, pretrained=False), spec)
    return Predictor.from_run_dir(directory, batch_size=2, workers=0)


def pictures() -> list[Image.Image]:
    """Pictures of several sizes and Pillow modes, each different."""
    return [
        colour_image((200, 40, 40), 48, seed=1),
        colour_image((40, 60, 200), 48, seed=2).convert("L"),
        scene(3, size=(100, 60)),
        colour_image((40, 170, 60), 80, seed=4).convert("RGBA"),
        scene(5, size=(60, 90)).convert("P"),
    ]


def test_pictures_in_memory_get_the_probabilities_of_their_files(predictor, tmp_path):
    images = pictures()
    paths = [tmp_path / f"{i}.png" for i in range(len(images))]
    for image, path in zip(images, paths, strict=True):
        image.save(path)
    in_memory = predictor.predict_images(images)
    from_files = predictor.probabilities(paths)
    assert in_memory.shape == (5, 3) and from_files.readable.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(in_memory, from_files.probs, atol=1e-5)
    assert np.ptp(in_memory, axis=0).max() > 1e-4  # the pictures are told apart
    if not predictor.spec.multilabel:
        np.testing.assert_allclose(in_memory.sum(1), 1.0, atol=1e-6)
    alone = predictor.predict_images([images[2]])  # a picture's row does not depend on its batch
    np.testing.assert_allclose(alone[0], in_memory[2], atol=1e-5)


def test_an_uploaded_jpeg_gets_what_its_file_gets(predictor, tmp_path):
    path = tmp_path / "photo.jpg"
    scene(7, size=(640, 480)).save(path, quality=90)  # large enough for draft decoding
    resize = predictor.spec.preprocessing.resize_size
    upload = decode_upload(path.read_bytes(), min_size=resize)
    np.testing.assert_allclose(
        predictor.predict_images([upload]), predictor.probabilities([path]).probs, atol=1e-5
    )


def test_no_pictures_no_rows(predictor):
    assert predictor.predict_images([]).shape == (0, 3)


def test_imagenet_names_a_bee_and_an_ant_from_uploaded_photos(shared_data):
    photos = [
        sorted((shared_data / "hymenoptera" / "train" / kind).glob("*.jpg"))[0]
        for kind in ("bees", "ants")
    ]
    predictor = imagenet_predictor(workers=0)
    resize = predictor.spec.preprocessing.resize_size
    uploads = [decode_upload(p.read_bytes(), min_size=resize) for p in photos]
    probs = predictor.predict_images(uploads)
    assert probs.shape == (2, 1000)
    np.testing.assert_allclose(probs, predictor.probabilities(photos).probs, atol=1e-5)
    best = [row[0][0] for row in top_k(probs, predictor.spec.classes, 3)]
    assert best == ["bee", "ant, emmet, pismire"]
