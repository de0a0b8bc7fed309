"""The Label page with a run (`imclass app DATA --run RUN`): the model's suggestion is
pre-selected and Enter accepts it, the least confident images come first on request, and
`/label?path=` opens the image it names — in Chromium against the real server."""

import shutil
import time
from pathlib import Path

import httpx
import pytest
from tests.helpers import (
    CLASS_COLOURS,
    AppServer,
    colour_image,
    make_image_folder,
    open_label_page,
    press_and_wait_saved,
    scene,
    tsv_rows,
)

from imclass import TrainConfig
from imclass.progress import Reporter
from imclass.train.run import train_run

pytestmark = pytest.mark.slow  # trains a tiny run (~10 s), then a browser and a server per test

RED, BLUE = CLASS_COLOURS["red"], CLASS_COLOURS["blue"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real run that tells red from blue: 64 px, two head epochs and one fine-tuning epoch."""
    root = tmp_path_factory.mktemp("suggest")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IMCLASS_CACHE_DIR", str(root / "cache"))
        data = make_image_folder(root / "data", ("red", "blue"), per_class=12)
        config = TrainConfig(image_size=64, head_epochs=2, epochs=1, batch_size=8, workers=0)
        train_run(data, config, root / "run", Reporter(quiet=True))
    return root / "run"


def blend(share_of_blue: float) -> tuple[int, ...]:
    return tuple(round(r + (b - r) * share_of_blue) for r, b in zip(RED, BLUE, strict=True))


def unlabelled_folder(root: Path, shares: list[float]) -> Path:
    """img_<i>.png: a red-to-blue blend per share of blue, nothing labelled."""
    root.mkdir()
    for i, share in enumerate(shares):
        colour_image(blend(share), 48, seed=70 + i).save(root / f"img_{i}.png")
    return root


def api(server: AppServer) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"X-Imclass-Token": server.token})


def confidences_when_all_predicted(server: AppServer, names: list[str]) -> dict[str, float]:
    """Each image's top probability from /api/suggestions, once the background work is done."""
    with api(server) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            answer = client.get("/api/suggestions", params={"image": names}).json()
            if not answer["pending"] and answer["predicted"] == answer["total"]:
                return {name: s["confidence"] for name, s in answer["suggestions"].items()}
            time.sleep(0.3)
    raise AssertionError(f"not every image was predicted in 120 s: {answer}")


def wait_for_suggestion(page) -> str:
    page.wait_for_selector("#suggestion[data-labels]:not([data-labels=''])", timeout=60_000)
    return page.get_attribute("#suggestion", "data-labels")


def test_suggestion_is_preselected_and_enter_accepts_it(tmp_path, browser, run_dir):
    data = unlabelled_folder(tmp_path / "photos", [0.0, 1.0, 0.0, 1.0])
    with AppServer(data, "--run", str(run_dir)) as server:
        page = open_label_page(browser, server)
        for expected in ("red", "blue", "red"):
            assert wait_for_suggestion(page) == expected
            assert page.get_attribute("#image-labels", "data-pending") == expected
            assert page.text_content("#suggestion").startswith(f"model: {expected} ")
            press_and_wait_saved(page, ["Enter"])
        assert page.text_content("#image-name") == "img_3.png"
        page.screenshot(path=str(tmp_path / "label-suggestion.png"))
        press_and_wait_saved(page, ["1"])  # a key still overrides: class 1 is blue (sorted)
    assert tsv_rows(data / "annotations.tsv") == {
        "img_0.png": (("red",), False),
        "img_1.png": (("blue",), False),
        "img_2.png": (("red",), False),
        "img_3.png": (("blue",), False),
    }


def test_multilabel_page_pre_toggles_the_suggestion(tmp_path, browser, run_dir):
    data = unlabelled_folder(tmp_path / "photos", [1.0, 0.0])
    with AppServer(data, "--run", str(run_dir), "--multilabel") as server:
        page = open_label_page(browser, server)
        assert wait_for_suggestion(page) == "blue"
        assert page.get_attribute("#image-labels", "data-pending") == "blue"
        press_and_wait_saved(page, ["2", "Enter"])  # red toggled on beside blue, confirmed
    assert tsv_rows(data / "annotations.tsv") == {"img_0.png": (("blue", "red"), False)}


def test_least_confident_first(tmp_path, browser, run_dir):
    shares = [0.0, 0.35, 1.0, 0.5, 0.6, 0.1, 0.45]
    data = unlabelled_folder(tmp_path / "photos", shares)
    names = [f"img_{i}.png" for i in range(len(shares))]
    with AppServer(data, "--run", str(run_dir)) as server:
        confidence = confidences_when_all_predicted(server, names)
        expected = sorted(names, key=confidence.get)
        assert len(set(confidence.values())) == len(names)  # no ties: the order is one
        with api(server) as client:
            listed = client.get("/api/images", params={"order": "uncertain"}).json()["images"]
        assert [row["path"] for row in listed] == expected
        page = open_label_page(browser, server)
        page.select_option("#order", "uncertain")
        page.wait_for_function(f"() => state.images[0].path === '{expected[0]}'")
        assert page.text_content("#image-name") == expected[0]
        assert "order=uncertain" in page.url
        for name in expected[1:3]:
            page.keyboard.press("ArrowRight")
            assert page.text_content("#image-name") == name
        page.goto(f"{server.base}/label?order=uncertain")
        page.wait_for_selector("#save-status[data-state=saved]")
        assert page.text_content("#image-name") == expected[0]
        assert page.input_value("#order") == "uncertain"


def test_a_path_link_opens_that_image(tmp_path, browser):
    data = tmp_path / "photos"
    (data / "sub dir").mkdir(parents=True)
    for i in range(5):
        scene(i).save(data / f"img_{i}.jpg")
    scene(9).save(data / "sub dir" / "a&b #1.jpg")
    with AppServer(data, "--classes", "cat,dog") as server:
        page = browser.new_page()
        for name in ("img_3.jpg", "sub dir/a&b #1.jpg"):
            query = httpx.QueryParams({"path": name, "token": server.token})
            page.goto(f"{server.base}/label?{query}")
            page.wait_for_selector("#save-status[data-state=saved]")
            assert page.text_content("#image-name") == name
        press_and_wait_saved(page, ["2"])
    assert tsv_rows(data / "annotations.tsv") == {"sub dir/a&b #1.jpg": (("dog",), False)}


def test_a_run_that_knows_none_of_the_classes_is_one_warning(tmp_path, run_dir):
    data = unlabelled_folder(tmp_path / "photos", [0.0])
    with AppServer(data, "--run", str(run_dir), "--classes", "cat,dog") as server:
        server.process.stdout.readline()  # labels are saved to ...
        warning = server.process.stdout.readline()
    assert warning.startswith("warning: the run ")
    assert "knows none of the classes (cat, dog); its classes are blue, red" in warning


def test_a_model_that_does_not_load_is_said_once_and_labelling_goes_on(tmp_path, run_dir):
    broken = tmp_path / "broken-run"
    broken.mkdir()
    shutil.copy(run_dir / "model.json", broken)  # no weights
    data = unlabelled_folder(tmp_path / "photos", [0.0])
    with AppServer(data, "--run", str(broken)) as server, api(server) as client:
        for _ in range(300):  # the model loads in the background: up to a minute
            answer = client.get("/api/suggestions", params={"image": "img_0.png"}).json()
            if answer["error"] is not None:
                break
            time.sleep(0.2)
        assert answer["error"].startswith("the model did not load: ")
        assert "model.safetensors is missing" in answer["error"]
        assert answer["suggestions"] == {}
        written = client.post("/api/labels", json={"image": "img_0.png", "labels": ["red"]})
        assert written.status_code == 200
