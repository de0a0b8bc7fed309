"""The data-hygiene commands as a user runs them (in this process): real files, exit codes."""

import csv
import json
import os
import shutil

import pytest
from PIL import Image
from tests.helpers import colour_image, crashed, invoke, make_image_folder, one_error_line, scene


def test_verify_exits_1_and_quarantines_bad_files_keeping_their_paths(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    (data / "red" / "empty.jpg").write_bytes(b"")
    result = invoke(
        "verify", data, "--quarantine", tmp_path / "bad", "--report", tmp_path / "v.csv"
    )
    assert result.exit_code == 1 and not crashed(result), result.exception
    assert f"{data}/red/empty.jpg: zero bytes" in result.stdout
    assert (tmp_path / "bad" / "red" / "empty.jpg").is_file()
    assert not (data / "red" / "empty.jpg").exists()
    assert invoke("verify", data).exit_code == 0


def test_dedup_clean_writes_a_copy_without_the_redundant_files(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=3)
    shutil.copy(data / "red" / "red_0.png", data / "red" / "again.png")
    result = invoke(
        "dedup",
        data,
        "--action",
        "clean",
        "--to",
        tmp_path / "clean",
        "--report",
        tmp_path / "d.json",
    )
    assert result.exit_code == 0, result.exception or result.stderr
    kept = sorted(p.name for p in (tmp_path / "clean").rglob("*.png"))
    assert len(kept) == 6 and ("again.png" in kept) != ("red_0.png" in kept)
    assert (data / "red" / "again.png").exists()  # the user's data set is untouched
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["groups"] == 1 and report["redundant"] == 1


def test_dedup_move_needs_a_destination(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    result = invoke("dedup", data, "--action", "move")
    assert result.exit_code == 2 and not crashed(result), result.exception  # a usage error
    assert result.stderr.endswith("Error: --action move needs --to DIR\n")
    assert sorted(p.name for p in data.rglob("*.png")) == [
        "blue_0.png",
        "blue_1.png",
        "red_0.png",
        "red_1.png",
    ]


@pytest.mark.slow  # a real training: ~5 s
def test_group_split_file_is_accepted_by_train(tmp_path):
    data = tmp_path / "frames"
    for cls, colour in (("red", (200, 40, 40)), ("blue", (40, 60, 200))):
        (data / cls).mkdir(parents=True)
        for clip in range(5):
            for frame in range(3):
                colour_image(colour, 48, seed=clip * 10 + frame).save(
                    data / cls / f"{cls}clip{clip}_{frame:04d}.png"
                )
    result = invoke(
        "split", data, "--strategy", "group", "--valid", "0.2", "--out", tmp_path / "split.csv"
    )
    assert result.exit_code == 0, result.exception or result.stderr
    rows = list(csv.DictReader((tmp_path / "split.csv").open()))
    sides: dict[str, set] = {}
    for row in rows:
        sides.setdefault(row["group"], set()).add(row["split"])
    assert len(sides) == 10 and all(len(s) == 1 for s in sides.values())
    trained = invoke(
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
    assert trained.exit_code == 0, trained.exception or trained.stderr


def test_info_reports_as_json(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=4)
    result = invoke("info", data, "--report", tmp_path / "info.json")
    assert result.exit_code == 0, result.exception or result.stderr
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
    result = invoke("downsize", data, tmp_path / "small", "--max-megapixels", "1")
    assert result.exit_code == 0, result.exception or result.stderr
    assert "2 resized, 2 hard-linked" in result.stdout
    assert Image.open(tmp_path / "small" / "a" / "big.jpg").size == (1201, 832)
    again = invoke("downsize", data, tmp_path / "small")
    assert f"{tmp_path / 'small'}: not empty" in one_error_line(again) and again.exit_code == 1
    preview = invoke(
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
    assert preview.exit_code == 0, preview.exception or preview.stderr
    assert Image.open(tmp_path / "grid.png").size == (5 * 64, 2 * (64 + 14))


@pytest.fixture(params=["flat", "one class"])
def unlabelled(request, tmp_path):
    """Scraped images: directly in the folder, or in a single class folder; (root, image folder).
    Three distinct photos, one exact copy, one 1.92-megapixel photo."""
    root = tmp_path / "scraped"
    folder = root if request.param == "flat" else root / "cats"
    folder.mkdir(parents=True)
    for i in range(3):
        scene(i).save(folder / f"img{i}.jpg")
    shutil.copy(folder / "img0.jpg", folder / "img0_copy.jpg")
    scene(9, (1600, 1200)).save(folder / "big.jpg")
    return root, folder


def test_info_on_unlabelled_images_reports_without_class_advice(unlabelled, tmp_path):
    root, folder = unlabelled
    result = invoke("info", root, "--report", tmp_path / "info.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "info.json").read_text())
    flat = folder == root
    assert report["classes"] == ({} if flat else {"cats": {"all": 5}})
    assert report["unlabelled"] == (5 if flat else 0)
    assert report["imbalance_ratio"] is None
    assert report["formats"] == {"JPEG": 5} and report["duplicate_groups"] == 1
    advice = " ".join(report["advice"])
    assert "per class usually works" not in advice and "imbalanced" not in advice
    assert "1 exact duplicate file(s)" in advice
    assert ("5 images without a class" if flat else "1 class ('cats')") in result.stdout


def test_verify_on_unlabelled_images(unlabelled):
    root, folder = unlabelled
    assert invoke("verify", root).exit_code == 0
    (folder / "empty.jpg").write_bytes(b"")
    result = invoke("verify", root)
    assert result.exit_code == 1
    assert "empty.jpg: zero bytes" in result.stdout
    assert "5 of 6 images readable; 1 problem(s)" in result.stdout


def test_dedup_on_unlabelled_images(unlabelled, tmp_path):
    root, folder = unlabelled
    result = invoke("dedup", root, "--action", "clean", "--to", tmp_path / "clean")
    assert result.exit_code == 0, result.output
    assert "1 group(s), 1 redundant file(s)" in result.stdout
    kept = sorted(p.relative_to(tmp_path / "clean") for p in (tmp_path / "clean").rglob("*.jpg"))
    assert len(kept) == 4 and all(p.parent == folder.relative_to(root) for p in kept)


def test_downsize_on_unlabelled_images_keeps_the_layout(unlabelled, tmp_path):
    root, folder = unlabelled
    result = invoke("downsize", root, tmp_path / "small", "--max-megapixels", "1")
    assert result.exit_code == 0, result.output
    assert "1 resized, 4 hard-linked" in result.stdout
    copy = tmp_path / "small" / folder.relative_to(root)
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in folder.iterdir())
    assert Image.open(copy / "big.jpg").size == (1154, 866)


def test_training_still_needs_two_classes(unlabelled, tmp_path):
    root, folder = unlabelled
    result = invoke("train", root, "--out", tmp_path / "run")
    assert result.exit_code == 1
    expected = "5 images but no class folders" if folder == root else "only one class ('cats')"
    assert expected in result.stderr


def test_a_misspelt_split_in_a_split_file_is_one_line_before_training(tmp_path):
    make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    (tmp_path / "split.csv").write_text(
        "path,label,split\ndata/red/red_0.png,red,train\ndata/blue/blue_0.png,blue,train\n"
        "data/red/red_1.png,red,vaild\ndata/blue/blue_1.png,blue,vaild\n"
    )
    result = invoke("train", tmp_path / "split.csv", "--out", tmp_path / "run")
    assert result.exit_code == 1 and not crashed(result), result.exception
    assert result.stderr == (
        f"error: {tmp_path / 'split.csv'}: line 4: unknown split 'vaild'; expected train, "
        "valid (or val, validation) or test. Did you mean 'valid'?\n"
    )
    assert not (tmp_path / "run").exists()


def test_downsize_of_a_folder_holding_labels_csv_keeps_images_in_images(tmp_path):
    data = tmp_path / "fridge"
    (data / "images").mkdir(parents=True)
    for i, name in enumerate(("a", "b")):
        scene(i).save(data / "images" / f"{name}.jpg")
    (data / "labels.csv").write_text("filename,labels\na.jpg,can milk\nb.jpg,carton\n")
    result = invoke("downsize", data, tmp_path / "small")
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path / "small") for p in (tmp_path / "small").rglob("*"))
    assert [p.as_posix() for p in written] == ["images", "images/a.jpg", "images/b.jpg"]


@pytest.fixture
def listed_outside(tmp_path):
    """labels.csv in tmp/lists/ naming images in the sibling tmp/photos/."""
    make_image_folder(tmp_path / "photos", ("red", "blue"), per_class=2)
    (tmp_path / "lists").mkdir()
    labels = tmp_path / "lists" / "labels.csv"
    rows = [f"../photos/{c}/{c}_{i}.png,{c}" for c in ("red", "blue") for i in range(2)]
    labels.write_text("filename,labels\n" + "\n".join(rows) + "\n")
    return labels


def test_root_lets_a_label_file_list_images_beside_its_folder(listed_outside, tmp_path):
    refused = invoke("info", listed_outside)
    assert refused.exit_code == 1 and "is outside the data set" in refused.stderr
    result = invoke("info", listed_outside, "--root", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "2 classes" in result.stdout
    copied = invoke("downsize", listed_outside, tmp_path / "small", "--root", tmp_path)
    assert copied.exit_code == 0, copied.stderr
    assert len(list((tmp_path / "small" / "photos").rglob("*.png"))) == 4


@pytest.mark.slow  # a real training: ~5 s
def test_train_records_root_in_its_config(listed_outside, tmp_path):
    import yaml

    from imclass.train.run import read_config

    run = tmp_path / "run"
    result = invoke(
        "train", listed_outside, "--root", tmp_path, "--out", run, "--epochs", "0",
        "--head-epochs", "1", "--image-size", "32", "--workers", "0", "--no-refit",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load((run / "config.yaml").read_text())["data_options"]["root"] == str(
        tmp_path
    )
    assert read_config(run)[2].root == str(tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ["info", "{data}"],
        ["verify", "{data}"],
        ["dedup", "{data}"],
        ["downsize", "{data}", "{tmp}/small"],
        ["split", "{data}", "--out", "{tmp}/split.csv"],
        ["augment-preview", "{data}", "-n", "2", "--image-size", "32", "--out", "{tmp}/g.png"],
        ["convert", "{data}", "--to", "csv", "--out", "{tmp}/csv"],
    ],
)
def test_every_data_command_warns_of_what_it_skipped(tmp_path, command):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    (data / "red" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    result = invoke(*[part.format(data=data, tmp=tmp_path) for part in command])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(f"warning: {data}/red/gone.png: broken link") == 1


def test_info_counts_what_it_skipped(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    (data / "red" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (data / "loop").symlink_to(".")
    result = invoke("info", data, "--report", tmp_path / "info.json")
    assert result.exit_code == 0, result.stderr
    assert "2 classes; imbalance ratio 1.00 (largest / smallest); 2 skipped" in result.stdout
    assert len(json.loads((tmp_path / "info.json").read_text())["skipped"]) == 2


def test_dedup_clean_checks_every_destination_before_writing_one(tmp_path, monkeypatch):
    """A name longer than the destination's file system allows (here 12 bytes) is refused
    before the first file is linked: no half-written copy."""
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    (data / "red" / "a_long_name.png").write_bytes((data / "red" / "red_0.png").read_bytes())
    monkeypatch.setattr(os, "pathconf", lambda path, name: 12)
    result = invoke("dedup", data, "--action", "clean", "--to", tmp_path / "clean")
    assert result.exit_code == 1 and "is longer than 12 bytes" in result.stderr
    assert not (tmp_path / "clean").exists()


@pytest.fixture
def listed(tmp_path):
    """labels.csv beside images/, one of them empty and one a duplicate."""
    make_image_folder(tmp_path / "data" / "images", ("red", "blue"), per_class=2)
    images = tmp_path / "data" / "images"
    (images / "red" / "empty.png").write_bytes(b"")
    shutil.copy(images / "red" / "red_0.png", images / "red" / "again.png")
    rows = [f"{p.relative_to(images).as_posix()},{p.parent.name}" for p in images.rglob("*.png")]
    (tmp_path / "data" / "labels.csv").write_text("filename,labels\n" + "\n".join(rows) + "\n")
    return tmp_path / "data" / "labels.csv"


@pytest.mark.parametrize(
    "command",
    [
        ["verify", "{labels}", "--quarantine", "{tmp}/bad"],
        ["dedup", "{labels}", "--action", "move", "--to", "{tmp}/moved"],
    ],
)
def test_moving_files_out_of_a_label_files_data_set_warns_of_its_rows(listed, tmp_path, command):
    result = invoke(*[part.format(labels=listed, tmp=tmp_path) for part in command])
    assert f"warning: {listed}: 1 row(s) still list the moved file(s)" in result.stderr
    assert "--skip-missing" in result.stderr


def test_info_on_a_collected_folder_counts_its_sources(tmp_path):
    """A folder `imclass collect` made: images by provider and licence from its manifest.csv;
    rows of rejected images and of files since deleted are not counted."""
    from imclass.collect.manifest import Row, write_manifest

    data = make_image_folder(tmp_path / "shirts", ("red", "blue"), per_class=3)
    (data / "red" / "red_2.png").unlink()  # deleted after collecting
    sources = [
        ("openverse", "CC BY 4.0"),
        ("openverse", "CC BY 4.0"),
        ("openverse", "CC0 1.0"),
        ("wikimedia", ""),
        ("wikimedia", "CC BY-SA 4.0\x1b[2J"),  # a terminal escape from the internet
        ("wikimedia", "CC BY 4.0"),
    ]
    paths = [f"blue/blue_{i}.png" for i in range(3)] + [f"red/red_{i}.png" for i in range(3)]
    kept = [
        Row(path, provider, "q", path[:3], "", f"https://x.org/{path}", "", 48, 48, 0, "", licence,
            "", "Ann", "", "kept", "")
        for path, (provider, licence) in zip(paths, sources, strict=True)
    ]  # fmt: skip
    rejected = kept[0].but(path="", url="https://x.org/gone", status="rejected", reason="HTTP 404")
    write_manifest(data, {row.url: row for row in [*kept, rejected]})

    result = invoke("info", data, "--report", tmp_path / "info.json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "sources (manifest.csv): 5 of 5 images; openverse 3, wikimedia 2" in lines
    assert (
        "licences: CC BY 4.0 2, CC0 1.0 1, CC BY-SA 4.0\\x1b[2J 1; 1 without a licence recorded"
        in lines
    )
    report = json.loads((tmp_path / "info.json").read_text())
    assert report["sources"] == {
        "images": 5,
        "providers": {"openverse": 3, "wikimedia": 2},
        "licences": {"CC BY 4.0": 2, "CC0 1.0": 1, "CC BY-SA 4.0\x1b[2J": 1},
        "unlicensed": 1,
    }


def test_info_warns_of_a_manifest_it_cannot_read(tmp_path):
    data = make_image_folder(tmp_path / "shirts", ("red", "blue"), per_class=2)
    (data / "manifest.csv").write_text("url,who\nhttps://x.org/a.jpg,me\n")
    result = invoke("info", data)
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {data / 'manifest.csv'}: not a manifest imclass collect wrote" in result.stderr
    )
    assert "sources (" not in result.stdout
