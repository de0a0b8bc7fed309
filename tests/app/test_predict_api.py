"""/api/models and /api/predict in process (httpx through FastAPI's TestClient): answers equal
the Predictor's for the same file, raw body and form alike; oversized, undecodable,
unauthenticated, cross-site and unknown-model requests are refused with their own status."""

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from tests.helpers import SHARED_DATA, jpeg_bytes, scene

from imclass.app import AppSettings, create_app
from imclass.app.security import TOKEN_HEADER
from imclass.inference import Predictor
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory

TINY = "test_efficientnet"  # timm's smallest EfficientNet, built without weights
PETS = ("cat", "dog", "fox")
LIMIT = 100_000  # bytes an upload may have in these tests
TOKEN = "t0ken"
BASE = "http://127.0.0.1:8765"  # the Host AccessGuard expects for the default settings


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder with one untrained three-class run at 64 px."""
    runs = tmp_path_factory.mktemp("runs")
    spec = ModelSpec(TINY, PETS, default_preprocessing(TINY).at_size(64))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        RunDirectory(runs / "pets").write_model(build_model(TINY, 3, pretrained=False), spec)
    return runs


@pytest.fixture(scope="module")
def client(runs):
    settings = AppSettings(token=TOKEN, runs_dir=runs, max_upload_bytes=LIMIT)
    with TestClient(create_app(settings), base_url=BASE, headers={TOKEN_HEADER: TOKEN}) as client:
        yield client


def test_models_lists_imagenet_then_the_runs(client):
    answer = client.get("/api/models")
    assert answer.status_code == 200
    assert [(m["name"], m["kind"]) for m in answer.json()["models"]] == [
        ("imagenet", "imagenet"),
        ("pets", "run"),
    ]


def test_a_raw_jpeg_and_a_form_upload_get_the_predictors_answer(client, runs, tmp_path):
    photo = jpeg_bytes(scene(7))
    (tmp_path / "photo.jpg").write_bytes(photo)
    expected = Predictor.from_run_dir(runs / "pets", device="cpu").probabilities(
        [tmp_path / "photo.jpg"]
    )
    order = np.argsort(-expected.probs[0])
    raw = client.post(
        "/api/predict?model=pets", content=photo, headers={"Content-Type": "image/jpeg"}
    )
    form = client.post("/api/predict?model=pets", files={"file": ("a<b>.jpg", photo)})
    assert raw.status_code == form.status_code == 200
    assert raw.json() == form.json()
    answer = raw.json()
    assert answer["model"] == "pets"
    assert [p["class"] for p in answer["predictions"]] == [PETS[i] for i in order]
    probabilities = [p["probability"] for p in answer["predictions"]]
    np.testing.assert_allclose(probabilities, expected.probs[0][order], atol=1e-5)
    assert "a<b>" not in form.text  # the file's name is never sent back


def test_uploads_over_the_limit_are_refused_413(client):
    declared = client.post(  # refused on the Content-Length alone: the body is one byte
        "/api/predict", content=b"x", headers={"Content-Length": str(10 * LIMIT)}
    )
    streamed = client.post("/api/predict", content=iter([b"\xff" * 50_000] * 5))
    just_over = client.post("/api/predict", content=b"\xff" * (LIMIT + 1))
    form = client.post("/api/predict", files={"file": ("big.jpg", b"\xff" * (LIMIT + 1))})
    for answer in (declared, streamed, just_over, form):
        assert answer.status_code == 413, answer.text
        assert "send a smaller image" in answer.json()["detail"]


def test_what_is_not_an_image_is_refused_with_the_reason(client):
    text = client.post("/api/predict?model=pets", content=b"hello, not a picture")
    empty = client.post("/api/predict?model=pets", content=b"")
    no_file = client.post("/api/predict?model=pets", files={"other": ("x.jpg", b"abc")})
    as_text = client.post(
        "/api/predict?model=pets", content=b"abc", headers={"Content-Type": "text/plain"}
    )
    assert (text.status_code, empty.status_code) == (400, 400), (text.text, empty.text)
    assert text.json()["detail"].startswith("the upload is not a readable image: ")
    assert empty.json()["detail"] == "the upload is not a readable image: zero bytes"
    assert no_file.status_code == 422 and "no `file` field" in no_file.json()["detail"]
    assert as_text.status_code == 415 and "'text/plain'" in as_text.json()["detail"]


def test_token_origin_and_model_are_checked(client):
    photo = jpeg_bytes(scene(8))
    no_token = client.post("/api/predict", content=photo, headers={TOKEN_HEADER: ""})
    other_site = client.post(
        "/api/predict", content=photo, headers={"Origin": "http://evil.example"}
    )
    same_site = client.post("/api/predict?model=pets", content=photo, headers={"Origin": BASE})
    unknown = client.post("/api/predict?model=petz", content=photo)
    assert (no_token.status_code, other_site.status_code, same_site.status_code) == (
        401,
        403,
        200,
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"].endswith("Did you mean 'pets'?")


@pytest.mark.slow  # loads the ImageNet backbone: a few seconds
def test_imagenet_with_no_training_sees_a_bee(client):
    bees = sorted((SHARED_DATA / "hymenoptera" / "val" / "bees").glob("*.jpg"))
    if not bees:
        pytest.skip(f"needs the bee photos of {SHARED_DATA}/hymenoptera")
    answer = client.post("/api/predict?model=imagenet", files={"file": bees[1].read_bytes()})
    assert answer.status_code == 200
    top = answer.json()["predictions"]
    assert top[0]["class"] == "bee" and top[0]["probability"] > 0.5
