"""The Label page in a real Chromium against the real server: labels given with the keyboard
only survive a kill -9 of the server, show again after a restart, and `imclass train`'s reader
takes the annotation file they are in."""

from pathlib import Path

import pytest
from tests.helpers import AppServer, open_label_page, press_and_wait_saved, scene, tsv_rows

from imclass.data.dataset import label_ids, open_data
from imclass.progress import Reporter
from imclass.train.config import TrainConfig
from imclass.train.run import train_run

pytestmark = pytest.mark.slow  # a browser and two server processes: about 10 s each

CLASSES = ("cat", "dog", "bird")
EXCLUDED = {5, 17, 29}


def photo_folder(root: Path, count: int) -> Path:
    root.mkdir()
    for i in range(count):
        scene(i).save(root / f"img_{i:02d}.jpg", quality=85)
    return root


def labels_in_page(page, count: int) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Each image's labels and exclusion as the page shows them, stepping with →."""
    shown = {}
    page.evaluate("() => go(0)")  # the page opens at the first unlabelled image
    for _ in range(count):
        name = page.text_content("#image-name")
        labels = page.get_attribute("#image-labels", "data-labels")
        exclude = page.get_attribute("#image-labels", "data-exclude") == "true"
        shown[name] = (tuple(filter(None, labels.split(","))), exclude)
        page.keyboard.press("ArrowRight")
    return shown


def test_single_label_keyboard_only_survives_kill_9(tmp_path, browser):
    data = photo_folder(tmp_path / "photos", 33)
    keys, expected = [], {}
    for i in range(33):
        keys.append("x" if i in EXCLUDED else str(i % 3 + 1))
        expected[f"img_{i:02d}.jpg"] = ((), True) if i in EXCLUDED else ((CLASSES[i % 3],), False)
    server = AppServer(data, "--classes", ",".join(CLASSES))
    page = open_label_page(browser, server)
    press_and_wait_saved(page, keys)
    server.kill()  # kill -9 right after the page said "saved"
    page.close()

    with AppServer(data) as again:
        page = open_label_page(browser, again)
        assert page.text_content("#count-labelled") == "30"
        assert page.text_content("#count-excluded") == "3"
        assert page.text_content("#count-left") == "0"
        counts = page.eval_on_selector_all("#classes .count", "cs => cs.map(c => c.textContent)")
        assert counts == ["11", "11", "8"]  # bird lost images 5, 17 and 29 to exclusion
        assert labels_in_page(page, 33) == expected
        page.screenshot(path=str(tmp_path / "label-page.png"))
    assert tsv_rows(data / "annotations.tsv") == expected
    source = open_data(data)
    assert source.classes == tuple(sorted(CLASSES)) and not source.multilabel
    labelled = {name: labels for name, (labels, excluded) in expected.items() if not excluded}
    assert classes_read_back(source) == labelled
    # and `imclass train` trains on it: the 30 labelled images, the 3 excluded left out
    tiny = TrainConfig(image_size=64, head_epochs=2, epochs=1, batch_size=8, workers=0)
    result = train_run(data / "annotations.tsv", tiny, tmp_path / "run", Reporter(quiet=True))
    trainer = result.trainer
    assert len(trainer.train_set) + len(trainer.valid_set) == 30
    assert trainer.spec.classes == tuple(sorted(CLASSES))


def test_multilabel_keyboard_only_survives_kill_9(tmp_path, browser):
    data = photo_folder(tmp_path / "photos", 10)
    choices = [("1", "2"), ("3",), ("1", "2", "3"), ("2",), ("1", "3")]
    keys, expected = [], {}
    for i in range(10):
        toggles = choices[i % len(choices)]
        keys += [*toggles, "Enter"]
        expected[f"img_{i:02d}.jpg"] = (tuple(CLASSES[int(k) - 1] for k in toggles), False)
    keys[:2] = ["1", "3", "3", "2"]  # toggling twice takes a class off again
    server = AppServer(data, "--classes", ",".join(CLASSES), "--multilabel")
    page = open_label_page(browser, server)
    press_and_wait_saved(page, keys)
    server.kill()
    page.close()

    with AppServer(data) as again:  # the journal remembers the classes and the kind
        page = open_label_page(browser, again)
        assert page.text_content("#count-labelled") == "10"
        assert labels_in_page(page, 10) == expected
        page.screenshot(path=str(tmp_path / "label-page-multilabel.png"))
    assert tsv_rows(data / "annotations.tsv") == expected
    source = open_data(data)
    assert source.multilabel
    assert classes_read_back(source) == {
        name: tuple(sorted(labels)) for name, (labels, _) in expected.items()
    }


def test_undo_next_unlabelled_and_grid_relabelling(tmp_path, browser):
    data = photo_folder(tmp_path / "photos", 6)
    with AppServer(data, "--classes", "cat,dog") as server:
        page = open_label_page(browser, server)
        press_and_wait_saved(page, ["1", "1", "2", "u"])  # img_02 back to unlabelled
        assert page.text_content("#image-name") == "img_02.jpg"
        assert page.get_attribute("#image-labels", "data-labels") == ""
        press_and_wait_saved(page, ["ArrowRight", "ArrowRight", "2", "ArrowLeft", "n"])
        assert page.text_content("#image-name") == "img_05.jpg"
        page.keyboard.press("n")  # round the end, to the one left before
        assert page.text_content("#image-name") == "img_02.jpg"
        page.keyboard.press("g")  # the grid of the first class: img_00 and img_01
        page.select_option("#grid-filter", "cat")
        assert page.eval_on_selector_all(".cell", "c => c.length") == 2
        page.locator(".cell").nth(1).click()
        press_and_wait_saved(page, ["2"])  # img_01 is a dog after all
        assert page.locator(".cell.changed").count() == 1
        page.keyboard.press("ArrowLeft")
        press_and_wait_saved(page, ["x"])
        page.screenshot(path=str(tmp_path / "label-grid.png"))
    assert tsv_rows(data / "annotations.tsv") == {
        "img_00.jpg": (("cat",), True),
        "img_01.jpg": (("dog",), False),
        "img_04.jpg": (("dog",), False),
    }


def classes_read_back(source) -> dict[str, tuple[str, ...]]:
    """Each image's class names as imclass's training data reader gives them."""
    everything = source.all_images()
    return {
        path.name: tuple(source.classes[i] for i in label_ids(label))
        for path, label in zip(everything.paths, everything.labels, strict=True)
    }
