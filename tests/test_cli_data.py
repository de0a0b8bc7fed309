"""The data-hygiene commands as a user runs them: real processes, real files."""

import csv
import json
import shutil

from PIL import Image

from tests.conftest import colour_image, make_image_folder, scene
from tests.test_cli import run_cli


def test_verify_exits_1_and_quarantines_bad_files_keeping_their_paths(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    (data / "red" / "empty.jpg").write_bytes(b"")
    result = run_cli(
        "verify", data, "--quarantine", tmp_path / "bad", "--report", tmp_path / "v.csv"
    )
    assert result.returncode == 1
    assert "empty.jpg: zero bytes" in result.stdout
    assert (tmp_path / "bad" / "red" / "empty.jpg").is_file()
    assert not (data / "red" / "empty.jpg").exists()
    assert run_cli("verify", data).returncode == 0


def test_dedup_clean_writes_a_copy_without_the_redundant_files(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    shutil.copy(data / "red" / "red_0.png", data / "red" / "again.png")
    result = run_cli(
        "dedup",
        data,
        "--action",
        "clean",
        "--to",
        tmp_path / "clean",
        "--report",
        tmp_path / "d.json",
    )
    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in (tmp_path / "clean").rglob("*.png"))
    assert len(kept) == 6 and ("again.png" in kept) != ("red_0.png" in kept)
    assert (data / "red" / "again.png").exists()  # the user's data set is untouched
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["groups"] == 1 and report["redundant"] == 1


def test_dedup_move_needs_a_destination(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    result = run_cli("dedup", data, "--action", "move")
    assert result.returncode != 0 and "--to DIR" in result.stderr


def test_group_split_file_is_accepted_by_train(tmp_path):
    data = tmp_path / "frames"
    for cls, colour in (("red", (200, 40, 40)), ("blue", (40, 60, 200))):
        (data / cls).mkdir(parents=True)
        for clip in range(5):
            for frame in range(3):
                colour_image(colour, 48, seed=clip * 10 + frame).save(
                    data / cls / f"{cls}clip{clip}_{frame:04d}.png"
                )
    result = run_cli(
        "split", data, "--strategy", "group", "--valid", "0.2", "--out", tmp_path / "split.csv"
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "split.csv").open()))
    sides: dict[str, set] = {}
    for row in rows:
        sides.setdefault(row["group"], set()).add(row["split"])
    assert len(sides) == 10 and all(len(s) == 1 for s in sides.values())
    trained = run_cli(
        "train",
        tmp_path / "split.csv",
        "--out",
        tmp_path / "run",
        "--image-size",
        "64",
        "--head-epochs",
        "2",
        "--epochs",
        "0",
        "--workers",
        "0",
    )
    assert trained.returncode == 0, trained.stderr


def test_info_reports_as_json(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=4)
    result = run_cli("info", data, "--report", tmp_path / "info.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "info.json").read_text())
    assert report["classes"] == {"blue": {"all": 4}, "red": {"all": 4}}
    assert report["imbalance_ratio"] == 1.0 and report["formats"] == {"PNG": 8}
    assert "class 'blue' has 4 images" in " ".join(report["advice"])


def test_downsize_and_augment_preview(tmp_path):
    data = tmp_path / "data"
    for cls in ("a", "b"):
        (data / cls).mkdir(parents=True)
        scene(ord(cls), (2600, 1800)).save(data / cls / "big.jpg", quality=85)
        scene(ord(cls) + 5).save(data / cls / "small.jpg")
    result = run_cli("downsize", data, tmp_path / "small", "--max-megapixels", "1")
    assert result.returncode == 0, result.stderr
    assert "2 resized, 2 hard-linked" in result.stdout
    assert Image.open(tmp_path / "small" / "a" / "big.jpg").size == (1201, 832)
    again = run_cli("downsize", data, tmp_path / "small")
    assert again.returncode != 0 and "not empty" in again.stderr
    preview = run_cli(
        "augment-preview",
        data,
        "--augment",
        "text",
        "-n",
        "2",
        "--image-size",
        "64",
        "--out",
        tmp_path / "grid.png",
    )
    assert preview.returncode == 0, preview.stderr
    assert Image.open(tmp_path / "grid.png").size == (5 * 64, 2 * (64 + 14))
