"""The Results pages against the real server in its own process: a really trained run (and a
multi-label one written through RunDirectory) listed, a confusion-matrix cell opened in Chromium
shows exactly its images, a label-error candidate links to the Label page, a threshold slider
recounts; only the given runs and the rows of their predictions.csv are served."""

from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.helpers import CLASS_COLOURS, AppServer, colour_image, make_image_folder

from imclass import TrainConfig
from imclass.evaluate import evaluate_run
from imclass.evaluate.label_errors import label_error_candidates
from imclass.evaluate.multilabel import multilabel_metrics
from imclass.evaluate.runs import confusion_cell, counts_at_thresholds
from imclass.models.backbones import default_preprocessing
from imclass.models.run_dir import ModelSpec, RunDirectory
from imclass.progress import Reporter
from imclass.train.run import train_run

# Trains the real backbone once (about 20 s on a CPU), then a server process and Chromium.
pytestmark = pytest.mark.slow

TINY = TrainConfig(image_size=64, head_epochs=2, epochs=1, batch_size=8, workers=0)
LABELS = ("a", "b")
# multi-label rows: (labels, probability of a, probability of b)
MULTI = [("a", 0.9, 0.1), ("a", 0.4, 0.2), ("b", 0.1, 0.9), ("a b", 0.7, 0.3), ("", 0.2, 0.6)]


def trained_run(root: Path) -> tuple[Path, Path]:
    """A run trained on three colours, then evaluated (into the run directory) on held-out
    images, DATA, where two blue images are filed as red."""
    colours = ("red", "blue", "green")
    training = make_image_folder(root / "training", colours, per_class=8)
    run = train_run(training, TINY, root / "trained" / "run", Reporter(quiet=True)).run_dir
    data = root / "data"
    for c, name in enumerate(colours):
        (data / name).mkdir(parents=True)
        for i in range(4):
            colour_image(CLASS_COLOURS[name], seed=700 + 10 * c + i).save(data / name / f"{i}.png")
    for i in range(2):
        colour_image(CLASS_COLOURS["blue"], seed=800 + i).save(
            data / "red" / f"filed_wrong_{i}.png"
        )
    # a purplish blue: the model less sure of one blue image lowers blue's confident-learning
    # threshold below 1, which saturated probabilities of the blue images would otherwise be
    colour_image((110, 50, 150), seed=900).save(data / "blue" / "purplish.png")
    evaluate_run(run, data)
    return data, run


def multilabel_run(root: Path) -> Path:
    """A multi-label run of images outside DATA, its files written through RunDirectory."""
    images = root / "elsewhere"
    images.mkdir()
    paths = []
    for i, _ in enumerate(MULTI):
        colour_image((200, 40 * i, 40), seed=i).save(images / f"m{i}.png")
        paths.append(images / f"m{i}.png")
    run = RunDirectory(root / "runs" / "run")  # the same folder name: shown as run-2
    pre = default_preprocessing("test_efficientnet").at_size(64)
    run.write_spec(ModelSpec("test_efficientnet", LABELS, pre, True, (0.5, 0.5)))
    labels = [row[0] for row in MULTI]
    probs = np.array([row[1:] for row in MULTI])
    targets = np.array([[name in text.split() for name in LABELS] for text in labels], dtype=int)
    predicted = [" ".join(n for n, p in zip(LABELS, row, strict=True) if p >= 0.5) for row in probs]
    run.write_predictions(paths, labels, predicted, probs, LABELS)
    run.write_metrics(multilabel_metrics(targets, probs, LABELS, [0.5, 0.5]))
    return run.path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(DATA, the trained run, the multi-label run, the server showing them and a damaged run)."""
    root = tmp_path_factory.mktemp("results")
    data, run = trained_run(root)
    other = multilabel_run(root)
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "model.json").write_text("{ not json")
    with AppServer(data, "--run", run, "--runs-dir", root / "runs") as server:
        yield data, run, other, server


def open_page(browser, server: AppServer, address: str):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(server.url)  # the token becomes a cookie
    page.goto(server.base + address)
    return page


def card_paths(page, container: str) -> list[str]:
    return page.eval_on_selector_all(f"{container} .card", "cs => cs.map(c => c.dataset.path)")


def test_the_list_shows_each_run_and_a_damaged_one_with_its_error(runs, browser, tmp_path):
    data, _, _, server = runs
    page = open_page(browser, server, "/runs")
    page.wait_for_selector("#runs tbody tr")
    names = page.eval_on_selector_all("#runs tbody tr", "rs => rs.map(r => r.dataset.run)")
    assert names == ["run", "broken", "run-2"]  # --run first, then --runs-dir's by name
    trained = page.locator("#runs tr[data-run=run]")
    assert str(data.parent / "training") in trained.text_content()  # what it was trained on
    assert "accuracy" in page.text_content("#runs thead")
    assert "unreadable" in page.text_content("#runs tr[data-run=broken] td.error")
    page.screenshot(path=str(tmp_path / "runs-list.png"), full_page=True)
    page.click("#runs a:text-is('run')")
    page.wait_for_url("**/runs/run")


def test_a_confusion_cell_shows_exactly_its_images(runs, browser, tmp_path):
    _, run, _, server = runs
    page = open_page(browser, server, "/runs/run")
    page.wait_for_selector("#confusion .cell-button")
    page.wait_for_selector("#curves svg polyline")
    for true, predicted in [("red", "blue"), ("green", "green")]:
        expected = [image.path for image in confusion_cell(run, true, predicted)]
        page.click(f"#confusion button[data-true={true}][data-predicted={predicted}]")
        page.wait_for_function(
            "n => document.getElementById('cell-title').textContent.includes(n + ' images')",
            arg=len(expected),
        )
        assert card_paths(page, "#cell-images") == expected and expected
    first = page.locator("#cell-images .card img").first
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=first.element_handle())
    page.set_viewport_size({"width": 1300, "height": 2400})  # the report scrolls inside <main>
    page.screenshot(path=str(tmp_path / "run-page.png"))


def test_a_label_error_candidate_opens_in_the_label_page(runs, browser):
    data, run, _, server = runs
    candidates = [c.path for c in label_error_candidates(run)]
    assert any("filed_wrong" in path for path in candidates)  # blue images filed as red
    page = open_page(browser, server, "/runs/run")
    page.wait_for_selector("#label-errors .card")
    assert card_paths(page, "#label-errors") == candidates[:48]
    relative = Path(candidates[0]).relative_to(data).as_posix()
    link = page.locator("#label-errors .card a.to-label").first
    assert link.get_attribute("href") == "/label?path=" + relative.replace("/", "%2F")
    page.locator("#label-errors .card").first.focus()
    page.keyboard.press("l")
    page.wait_for_url("**/label?path=*")
    assert page.url.endswith(relative.replace("/", "%2F"))


def test_a_threshold_slider_recounts_a_label(runs, browser):
    _, _, other, server = runs
    page = open_page(browser, server, "/runs/run-2")
    page.wait_for_selector("#per-class tr[data-label=a]")
    count = "#per-class tr[data-label=a] td[data-key={}]"
    before = counts_at_thresholds(other, [0.5, 0.5])["a"]
    assert page.text_content(count.format("tp")) == str(before["tp"])
    page.fill("#per-class tr[data-label=a] input.threshold", "0.3")
    after = counts_at_thresholds(other, [0.3, 0.5])["a"]
    assert after["tp"] != before["tp"]
    page.wait_for_function(
        "([s, n]) => document.querySelector(s).textContent === n",
        arg=[count.format("tp"), str(after["tp"])],
    )
    assert page.text_content(count.format("fp")) == str(after["fp"])
    disabled = page.locator("#worst .to-label.disabled").first
    assert "not an image of the app's DATA" in disabled.text_content()


def test_only_given_runs_and_their_rows_are_served(runs):
    _, run, _, server = runs
    rows = len(RunDirectory(run).read_predictions())
    with httpx.Client(base_url=server.base, headers={"X-Imclass-Token": server.token}) as client:
        thumb = client.get("/api/runs/run/images/0?size=thumb")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        refused = [
            "/api/runs/nope",
            "/runs/nope",
            "/api/runs/nope/images/0",
            f"/api/runs/run/images/{rows}",
            "/api/runs/run/images/-1",
            "/api/runs/..%2Fdata/images/0",
            "/api/runs/broken/images/0",  # listed, but no predictions.csv
        ]
        assert {path: client.get(path).status_code for path in refused} == dict.fromkeys(
            refused, 404
        )
        assert client.get("/api/runs/run/cell?true=red&predicted=purple").status_code == 400
    assert httpx.get(f"{server.base}/api/runs").status_code == 401
    assert httpx.get(f"{server.base}/api/runs/run/images/0").status_code == 401
