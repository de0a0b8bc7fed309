"""The Live page in a real Chromium against the real server: Chromium's fake camera, fed a real
bee photo, gets the ImageNet model's top 3 (a bee among them) a few times a second; an image
chosen in the page is classified too, and again with a registered run chosen instead."""

import io
from pathlib import Path

import pytest
from PIL import Image
from tests.helpers import SHARED_DATA, AppServer, browser_or_skip, scene

from imclass.models.backbones import default_preprocessing
from imclass.models.heads import build_model
from imclass.models.run_dir import ModelSpec, RunDirectory

pytestmark = pytest.mark.slow  # a server process, Chromium and the ImageNet model: ~15 s each

BEES = SHARED_DATA / "hymenoptera" / "val" / "bees"
BEE = "10870992_eebeeb3a12.jpg"  # ImageNet's model: 'bee' at 0.69
TINY = "test_efficientnet"  # timm's smallest EfficientNet, built without weights
PETS = ("cat", "dog", "fox")


@pytest.fixture
def bee_photo() -> Path:
    if not (BEES / BEE).is_file():
        pytest.skip(f"needs the bee photos of {BEES}")
    return BEES / BEE


def mjpeg_video(photo: Path, path: Path, frames: int = 30) -> Path:
    """A video file Chromium's fake camera plays (in a loop): the photo as MJPEG frames."""
    frame = io.BytesIO()
    Image.open(photo).convert("RGB").resize((640, 480)).save(frame, "JPEG", quality=90)
    path.write_bytes(frame.getvalue() * frames)
    return path


def filming(picture: Path, tmp_path: Path):
    """Chromium whose fake camera films picture (in a loop); no permission prompt."""
    video = mjpeg_video(picture, tmp_path / f"{picture.stem}.mjpeg")
    playwright, chromium = browser_or_skip(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def camera_browser(bee_photo, tmp_path):
    """Chromium whose camera films the bee photo."""
    yield from filming(bee_photo, tmp_path)


def drawn_orange(path: Path) -> Path:
    """A picture made here (an orange on a plate), for machines without the shared photos."""
    from PIL import ImageDraw

    picture = Image.new("RGB", (640, 480), (235, 230, 220))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((170, 300, 470, 420), fill=(250, 250, 250), outline=(180, 180, 180), width=4)
    draw.ellipse((230, 150, 410, 330), fill=(245, 140, 20))
    picture.save(path, quality=92)
    return path


@pytest.fixture
def drawn_camera_browser(tmp_path):
    """Chromium whose fake camera films a drawn picture: runs wherever Chromium does."""
    yield from filming(drawn_orange(tmp_path / "orange.jpg"), tmp_path)


@pytest.fixture
def server(tmp_path):
    """The app with a folder of two photos and one untrained run, 'pets'."""
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(2):
        scene(i).save(data / f"img_{i}.jpg")
    spec = ModelSpec(TINY, PETS, default_preprocessing(TINY).at_size(64))
    run = RunDirectory(tmp_path / "pets")
    run.write_model(build_model(TINY, len(PETS), pretrained=False), spec)
    with AppServer(data, "--run", run.path) as server:
        yield server


def open_live_page(browser, server: AppServer):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if "/api/predict" in r.url else None)
    page.goto(f"{server.base}/live?token={server.token}")
    assert page.url == f"{server.base}/live"  # the token became a cookie
    return page, statuses


def shown(page, source: str, wanted: str = "") -> list[tuple[str, float]]:
    """The classes over the picture, most probable first, once an answer for source (with
    the class wanted among them) is shown."""
    page.wait_for_selector(f"#predictions[data-source={source}] li{wanted}", timeout=60_000)
    return page.eval_on_selector_all(
        "#predictions li", "items => items.map(i => [i.dataset.class, +i.dataset.probability])"
    )


def answers_shown(page) -> int:
    return int(page.get_attribute("#predictions", "data-answers"))


def test_the_camera_shows_imagenets_top_3_frame_after_frame(camera_browser, server, tmp_path):
    page, statuses = open_live_page(camera_browser, server)
    top = shown(page, "camera", "[data-class=bee]")  # the fake camera's first frames are black
    assert len(top) == 3 and top == sorted(top, key=lambda pair: -pair[1])
    assert page.text_content("#live-status") == "live"
    assert page.text_content("#topbar nav a.current") == "Live"
    page.screenshot(path=str(tmp_path / "live-page.png"))
    more = answers_shown(page) + 3  # each answer is followed by the next frame
    page.wait_for_function(
        f"() => +document.getElementById('predictions').dataset.answers >= {more}",
        timeout=60_000,
    )
    assert "bee" in [name for name, _ in shown(page, "camera")]
    assert set(statuses) == {200}


def test_a_chosen_file_is_classified_by_imagenet_then_by_a_run(camera_browser, server, tmp_path):
    page, statuses = open_live_page(camera_browser, server)
    page.wait_for_selector("#model option[value=pets]", state="attached")
    options = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
    assert options == ["imagenet", "pets"]
    page.set_input_files("#file", str(BEES / BEE))
    top = shown(page, "file")
    assert top[0][0] == "bee" and top[0][1] > 0.5
    assert page.is_visible("#still") and not page.is_visible("#camera")
    page.select_option("#model", "pets")  # the same file again, with the run
    page.wait_for_selector("#predictions[data-model=pets] li", timeout=60_000)
    top = shown(page, "file")
    assert sorted(name for name, _ in top) == sorted(PETS)
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-4)
    assert set(statuses) == {200}
    page.screenshot(path=str(tmp_path / "live-page-file.png"))


def test_the_camera_of_a_drawn_picture_gets_a_top_3_again_and_again(drawn_camera_browser, server):
    page, statuses = open_live_page(drawn_camera_browser, server)
    top = shown(page, "camera")
    assert len(top) == 3 and top == sorted(top, key=lambda pair: -pair[1])
    assert all(name and 0 <= p <= 1 for name, p in top) and sum(p for _, p in top) <= 1 + 1e-6
    more = answers_shown(page) + 3
    page.wait_for_function(
        f"() => +document.getElementById('predictions').dataset.answers >= {more}",
        timeout=60_000,
    )
    assert set(statuses) == {200}
