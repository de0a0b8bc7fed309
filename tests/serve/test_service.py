"""`imclass serve` as a real process on a free loopback port, called over HTTP with httpx: a
run trained on three colours names each new colour image right, in the order sent, by form,
JSON and raw body alike; /readyz is 503 until the model has loaded; every refusal is JSON with
its status and a message; a multi-label run answers the labels reaching their thresholds."""

import base64
import hashlib
import http.client
import json
import shutil
import signal
import socket
import threading
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
import torch

from imclass import TrainConfig
from imclass.inference import Predictor
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.progress import Reporter
from imclass.train.run import train_run
from tests.helpers import (
    CLASS_COLOURS,
    ServerProcess,
    colour_image,
    invoke,
    jpeg_bytes,
    make_image_folder,
    one_error_line,
    png_header_only,
    poll_until_ready,
)

# Trains lite0 once (~20 s on a loaded 2-core machine), then starts servers, each importing
# torch in its own process (~5-15 s).
pytestmark = pytest.mark.slow

COLOURS = ("blue", "green", "red")
FAST = TrainConfig(epochs=1, image_size=64, batch_size=8, flip_tta=False, wise_alpha=1.0, workers=0)
MAX_IMAGES = 3
LIMIT_MB = 0.05  # 52,428 bytes: a 48-px colour image has ~7,000


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    data = make_image_folder(root / "data", COLOURS, per_class=8)
    return train_run(data, FAST, root / "run", Reporter(quiet=True)).run_dir


@pytest.fixture(scope="module")
def server(run):
    """The server, and what /healthz and /readyz answered from its start until ready."""
    limits = ("--max-images", MAX_IMAGES, "--max-request-mb", LIMIT_MB)
    with ServerProcess("serve", run, *limits) as process:
        process.health = poll_until_ready(process.base)
        yield process


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base, timeout=60) as client:
        yield client


def colour_jpeg(colour: str, seed: int) -> bytes:
    """A 48-px JPEG of colour, unlike every training image (their seeds are below 3000)."""
    return jpeg_bytes(colour_image(CLASS_COLOURS[colour], seed=5000 + seed))


def classes(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["labels"][0]["class"] for row in answer.json()["predictions"]]


def test_readyz_is_503_until_the_model_is_loaded_and_healthz_200_throughout(server):
    first, last = server.health[0], server.health[-1]
    assert first == (200, 503, "loading")
    assert last == (200, 200, "ready")
    assert all(alive == 200 for alive, _, _ in server.health)


def test_each_colour_is_named_right_in_the_order_sent(client):
    order = ["red", "blue", "green"]
    files = [("file", (f"{c}.jpg", colour_jpeg(c, i), "image/jpeg")) for i, c in enumerate(order)]
    answer = client.post("/v1/predict", files=files)
    assert classes(answer) == order
    assert [row["filename"] for row in answer.json()["predictions"]] == [
        "red.jpg",
        "blue.jpg",
        "green.jpg",
    ]


def test_json_raw_and_form_bodies_get_one_answer(client):
    photo = colour_jpeg("green", 7)
    form = client.post("/v1/predict", files={"file": ("g.jpg", photo)})
    raw = client.post("/v1/predict", content=photo, headers={"Content-Type": "image/jpeg"})
    encoded = base64.b64encode(photo).decode()
    as_json = client.post("/v1/predict", json={"images": [{"filename": "g.jpg", "data": encoded}]})
    assert form.json() == as_json.json()
    assert raw.json()["predictions"][0] == {**form.json()["predictions"][0], "filename": None}
    assert classes(form) == ["green"]


def test_probabilities_are_the_predictors_for_the_same_file(client, run, tmp_path):
    photo = colour_jpeg("blue", 3)
    (tmp_path / "photo.jpg").write_bytes(photo)
    expected = Predictor.from_run_dir(run, device="cpu").probabilities([tmp_path / "photo.jpg"])
    answer = client.post("/v1/predict?top_k=3", files={"file": ("photo.jpg", photo)})
    labels = answer.json()["predictions"][0]["labels"]
    spec = RunDirectory(run).read_spec()
    order = np.argsort(-expected.probs[0])
    assert [label["class"] for label in labels] == [spec.classes[i] for i in order]
    np.testing.assert_allclose(
        [label["probability"] for label in labels], expected.probs[0][order], atol=1e-5
    )


def test_top_k_is_how_many_labels_each_image_gets(client):
    files = [("file", (f"{c}.jpg", colour_jpeg(c, 20 + i))) for i, c in enumerate(COLOURS)]
    for k, expected in ((1, 1), (2, 2), (None, 3), (10, 3)):
        query = "" if k is None else f"?top_k={k}"
        answer = client.post(f"/v1/predict{query}", files=files)
        assert answer.status_code == 200, answer.text
        assert [len(row["labels"]) for row in answer.json()["predictions"]] == [expected] * 3


def test_model_describes_classes_preprocessing_and_version(client, run):
    spec = RunDirectory(run).read_spec()
    described = client.get("/v1/model").json()
    weights = hashlib.sha256(RunDirectory(run).weights_path.read_bytes()).hexdigest()
    assert described["classes"] == list(COLOURS) == list(spec.classes)
    assert described["multilabel"] is False and described["thresholds"] is None
    assert described["temperature"] == spec.temperature
    assert described["version"] == weights[:12]
    assert described["runtime"] == "onnx"  # --runtime auto on a CPU: exported into the run
    assert RunDirectory(run).onnx_path.is_file()
    pre = described["preprocessing"]
    assert (pre["image_size"], pre["resize_size"]) == (64, spec.preprocessing.resize_size)
    assert tuple(pre["mean"]) == spec.preprocessing.mean


def test_concurrent_requests_each_get_their_own_answer(server):
    """Sixteen clients at once: the batcher runs their images together, and hands each its row."""
    order = [COLOURS[i % 3] for i in range(16)]
    answers = [None] * len(order)

    def ask(index: int) -> None:
        photo = colour_jpeg(order[index], 100 + index)
        with httpx.Client(base_url=server.base, timeout=120) as client:
            answers[index] = client.post("/v1/predict", files={"file": ("x.jpg", photo)})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(order))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [classes(answer)[0] for answer in answers] == order


@pytest.mark.parametrize(
    ("request_args", "status", "message"),
    [
        ({"files": {"file": ("notes.txt", b"hello")}}, 400, "notes.txt: the upload is not"),
        (
            {"files": {"file": ("bomb.png", png_header_only(30000, 30000))}},
            400,
            "bomb.png: the upload is not a readable image: decompression bomb refused",
        ),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "zero bytes"),
        ({"files": {"file": ("big.jpg", b"\xff" * 60_000)}}, 413, "more than 52428 bytes"),
        (
            {"files": [("file", (f"{i}.jpg", b"x")) for i in range(4)]},
            413,
            "the request has 4 images, more than the limit of 3",
        ),
        ({"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415, "'text/plain'"),
        ({"files": {"photo": ("a.jpg", b"x")}}, 422, "the form has no `file` field"),
        (
            {"data": {"file": "hello"}, "files": {"x": ("a.jpg", b"x")}},
            422,
            "a `file` field holds text, not a file",
        ),
        ({"content": b"{", "headers": {"Content-Type": "application/json"}}, 400, "JSON body"),
        ({"json": {"pictures": []}}, 422, "the JSON body has no list of images"),
        ({"json": {"images": [{"data": "%%%"}]}}, 422, "images[0].data is not base64"),
        ({"json": {"images": [{"name": "a.jpg"}]}}, 422, "images[0] has no `data` string"),
    ],
    ids=[
        "not-an-image",
        "decompression-bomb",
        "empty",
        "too-large",
        "too-many",
        "content-type",
        "no-file-field",
        "text-file-field",
        "broken-json",
        "no-images-list",
        "not-base64",
        "no-data",
    ],
)
def test_a_refused_upload_is_json_with_its_status_and_reason(client, request_args, status, message):
    answer = client.post("/v1/predict", **request_args)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert "Traceback" not in answer.text


def raw_answer(base: str, headers: str, body: bytes = b"") -> tuple[int, dict]:
    """POST /v1/predict written by hand, with what no client library sends: a body shorter
    than its Content-Length."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    head = f"POST /v1/predict HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n"
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.sendall(head.encode() + body)
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        return answer.status, json.loads(answer.read())


def test_a_body_declared_too_large_is_refused_before_it_is_read(server):
    status, answer = raw_answer(server.base, "Content-Length: 10000000\r\n", b"x")
    assert status == 413
    assert answer["detail"].startswith("the request has more than 52428 bytes")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("top_k=0", "the query parameter 'top_k': input should be greater than or equal to 1"),
        ("top_k=two", "the query parameter 'top_k': input should be a valid integer"),
        ("topk=2", "unknown query parameter 'topk'; /v1/predict takes top_k. Did you mean"),
    ],
)
def test_bad_parameters_are_422_with_a_message(client, query, message):
    answer = client.post(f"/v1/predict?{query}", files={"file": ("a.jpg", colour_jpeg("red", 0))})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(message)


def test_docs_and_schema_are_served_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/healthz", "/readyz"} <= set(schema["paths"])
    parameters = schema["paths"]["/v1/predict"]["post"]["parameters"]
    assert [p["name"] for p in parameters] == ["top_k"]


@pytest.fixture(scope="module")
def multilabel_run(tmp_path_factory) -> Path:
    """An untrained three-label model whose thresholds decide alone: 0 (always on) for a and
    c, 1 (never: a sigmoid stays below it) for b."""
    directory = tmp_path_factory.mktemp("multilabel")
    pre = default_preprocessing("test_efficientnet").at_size(64)
    spec = ModelSpec("test_efficientnet", ("a", "b", "c"), pre, True, (0.0, 1.0, 0.0))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model("test_efficientnet", 3, pretrained=False)
    RunDirectory(directory).write_model(model, spec)
    return directory


def test_a_multilabel_run_answers_the_labels_reaching_their_thresholds(multilabel_run, tmp_path):
    photo = colour_jpeg("red", 50)
    (tmp_path / "photo.jpg").write_bytes(photo)
    expected = Predictor.from_run_dir(multilabel_run, device="cpu").probabilities(
        [tmp_path / "photo.jpg"]
    )
    a, _, c = expected.probs[0]
    ranked = ["a", "c"] if a >= c else ["c", "a"]
    with ServerProcess("serve", multilabel_run, "--timeout", "2") as server:
        assert poll_until_ready(server.base)[-1][1] == 200
        with httpx.Client(base_url=server.base, timeout=60) as client:
            every = client.post("/v1/predict", files={"file": ("p.jpg", photo)}).json()
            one = client.post("/v1/predict?top_k=1", files={"file": ("p.jpg", photo)}).json()
            described = client.get("/v1/model").json()
        stalled = raw_answer(server.base, "Content-Type: image/jpeg\r\nContent-Length: 1000\r\n")
    assert [label["class"] for label in every["predictions"][0]["labels"]] == ranked
    assert [label["class"] for label in one["predictions"][0]["labels"]] == ranked[:1]
    assert described["multilabel"] is True and described["thresholds"] == [0.0, 1.0, 0.0]
    assert stalled == (408, {"detail": "the request's body did not arrive within 2 s; retry later"})


def test_two_workers_each_load_the_model_and_answer(run, tmp_path):
    """Each worker takes connections once its model is loaded: none meets a loading one. The
    ONNX export is made once, before the workers start, not by each, and not in the
    supervisor, which never loads torch or ONNX Runtime."""
    run = Path(shutil.copytree(run, tmp_path / "run"))
    RunDirectory(run).onnx_path.unlink(missing_ok=True)
    with ServerProcess("serve", run, "--workers", "2") as server:
        assert poll_until_ready(server.base) == [(200, 200, "ready")]
        workers = [
            child
            for child in psutil.Process(server.process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        supervisor_libraries = Path(f"/proc/{server.process.pid}/maps").read_text()
        files = [("file", (f"{c}.jpg", colour_jpeg(c, 60 + i))) for i, c in enumerate(COLOURS)]
        with httpx.Client(base_url=server.base, timeout=60) as client:
            answers = [client.post("/v1/predict", files=files) for _ in range(4)]
        server.process.terminate()
        printed = server.process.communicate(timeout=60)[0]
    assert len(workers) == 2
    assert all(classes(answer) == list(COLOURS) for answer in answers)
    assert printed.count("exported") == 1, printed
    assert "libtorch" not in supervisor_libraries
    assert "onnxruntime" not in supervisor_libraries


def test_a_folder_that_is_no_run_is_never_ready_and_says_why(tmp_path):
    with ServerProcess("serve", tmp_path) as server:
        health = poll_until_ready(server.base)
        with httpx.Client(base_url=server.base, timeout=60) as client:
            ready = client.get("/readyz")
            answer = client.post("/v1/predict", files={"file": ("a.jpg", colour_jpeg("red", 0))})
        server.process.send_signal(signal.SIGTERM)
        output = server.process.communicate(timeout=60)[0]
    assert health[-1] == (200, 503, "failed")
    assert "model.json is missing" in ready.json()["detail"]
    assert answer.status_code == 503 and answer.json()["detail"] == ready.json()["detail"]
    assert f"error: the model cannot be served: {tmp_path}: not a run directory" in output
    assert server.process.returncode == 0 and output.endswith("imclass serve: stopped\n")


def test_a_missing_run_directory_is_one_error_line(tmp_path):
    result = invoke("serve", tmp_path / "nowhere")
    assert one_error_line(result) == (
        f"error: {tmp_path / 'nowhere'}: no such folder; give a run directory `imclass train` wrote"
    )


def test_the_runtime_is_warm_before_it_says_ready(run):
    """ModelRuntime.load runs full batches until the runtime is warm, before /readyz says so."""
    from imclass.serve.runtime import ModelRuntime
    from imclass.serve.settings import ServeSettings

    runtime = ModelRuntime.load(ServeSettings(run, max_batch=4, runtime="torch"))
    try:
        assert 2 <= runtime.warm_up_calls <= 4  # a call no faster than one before: two at least
    finally:
        runtime.stop()
