import csv
from collections import Counter
from pathlib import Path

import pytest
from tests.helpers import image_set, make_image_folder

from imclass.data.dataset import open_data
from imclass.data.split import (
    group_by_name,
    group_by_pattern,
    plan_split,
    train_valid_sets,
    write_split_file,
)
from imclass.errors import DataError


@pytest.mark.parametrize("share", [0.2, 0.25, 0.5])
def test_stratified_split_keeps_each_class_share_within_one_image(share):
    labels = [0] * 37 + [1] * 11 + [2] * 5
    plan = plan_split(image_set(labels), ("a", "b", "c"), valid=share, seed=3)
    assert sorted(plan.sides) == list(range(len(labels)))
    counts = Counter(labels[i] for i, side in plan.sides.items() if side == "valid")
    for label, total in Counter(labels).items():
        assert abs(counts[label] - share * total) <= 1
        assert 0 < counts[label] < total


def test_stratified_split_with_a_test_side():
    labels = [0] * 50 + [1] * 30
    plan = plan_split(image_set(labels), ("a", "b"), valid=0.2, test=0.1, seed=0)
    sides = Counter((labels[i], s) for i, s in plan.sides.items())
    assert (sides[0, "valid"], sides[0, "test"], sides[1, "valid"], sides[1, "test"]) == (
        10,
        5,
        6,
        3,
    )


def test_split_is_repeatable_from_the_seed():
    images = image_set([0] * 20 + [1] * 20)
    first = plan_split(images, ("a", "b"), seed=7).sides
    assert plan_split(images, ("a", "b"), seed=7).sides == first
    assert plan_split(images, ("a", "b"), seed=8).sides != first


def test_frame_numbers_are_stripped_for_the_group():
    assert group_by_name(Path("clip7_000123.jpg")) == "clip7"
    assert group_by_name(Path("walk-2.0041.png")) == "walk-2"
    assert group_by_name(Path("IMG.jpg")) == "IMG"
    assert group_by_pattern(r"^(cam\d+)")(Path("cam3_x_19.jpg")) == "cam3"


def test_group_split_never_puts_one_clip_on_both_sides():
    names, labels = [], []
    for clip in range(24):
        for frame in range(3 + clip % 5):
            names.append(f"clip{clip}_{frame:06d}.jpg")
            labels.append(clip % 2)
    for seed in range(10):
        plan = plan_split(
            image_set(labels, names), ("a", "b"), strategy="group", valid=0.25, test=0.1, seed=seed
        )
        sides_of_clip: dict[str, set] = {}
        for i, side in plan.sides.items():
            sides_of_clip.setdefault(names[i].split("_")[0], set()).add(side)
        assert all(len(s) == 1 for s in sides_of_clip.values())
        assert {plan.sides[i] for i in range(len(names)) if labels[i] == 1} >= {"train", "valid"}


def test_class_in_one_group_is_an_error_naming_it():
    names = ["a_1.jpg", "a_2.jpg", "b_1.jpg", "c_1.jpg"]
    with pytest.raises(DataError, match="class 'x' cannot appear on both sides"):
        plan_split(image_set([0, 0, 1, 1], names), ("x", "y"), strategy="group", seed=0)


def test_duplicates_stay_on_one_side():
    labels = [0] * 10 + [1] * 10
    together = [[0, 1, 2, 3], [10, 11, 12]]
    for seed in range(10):
        plan = plan_split(image_set(labels), ("a", "b"), valid=0.3, seed=seed, together=together)
        for group in together:
            assert len({plan.sides[i] for i in group}) == 1


def test_per_class_draws_are_nested_and_leave_validation_alone():
    images = image_set([0] * 30 + [1] * 30)
    small = plan_split(images, ("a", "b"), seed=1, per_class=5)
    large = plan_split(images, ("a", "b"), seed=1, per_class=10)
    train_small = {i for i, s in small.sides.items() if s == "train"}
    train_large = {i for i, s in large.sides.items() if s == "train"}
    assert len(train_small) == 10 and len(train_large) == 20 and train_small < train_large
    assert small.side("valid") == large.side("valid")


def test_split_file_round_trips_through_open_data(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=10)
    source = open_data(data)
    plan = plan_split(source.all_images(), source.classes, valid=0.2, seed=0)
    path = write_split_file(plan, tmp_path / "split.csv")
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["path", "label", "split", "group"]
    assert rows[0]["path"].startswith("data/")
    again = open_data(path)
    assert len(again.splits["train"]) == 16 and len(again.splits["valid"]) == 4
    assert set(again.splits["valid"].paths) == set(plan.side("valid").paths)


def write_split(folder: Path, sides: list[str]) -> Path:
    """A split file over folder's red/blue images, one split value per image in turn."""
    images = sorted(folder.glob("*/*.png"))
    rows = "".join(
        f"{p.relative_to(folder)},{p.parent.name},{side}\n"
        for p, side in zip(images, sides, strict=True)
    )
    path = folder / "split.csv"
    path.write_text("path,label,split\n" + rows)
    return path


def test_a_split_file_with_only_train_rows_validates_on_a_stratified_part_of_them(tmp_path):
    folder = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=5)
    source = open_data(write_split(folder, ["train"] * 10))
    train, valid = train_valid_sets(source, 0.2, 0)
    assert (len(train), len(valid)) == (8, 2)
    assert Counter(valid.labels) == {0: 1, 1: 1}
    assert not set(train.paths) & set(valid.paths)


def test_test_rows_are_never_used_for_validation(tmp_path):
    # the held-out side stays held out: validation (temperature, history) comes from train
    folder = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=6)
    source = open_data(
        write_split(folder, ["train", "train", "train", "train", "test", "test"] * 2)
    )
    train, valid = train_valid_sets(source, 0.25, 0)
    assert (len(train), len(valid)) == (6, 2)
    assert Counter(valid.labels) == {0: 1, 1: 1}
    held_out = set(source.splits["test"].paths)
    assert not held_out & (set(train.paths) | set(valid.paths))


@pytest.mark.parametrize("sides", [["test"] * 10, ["valid", "test"] * 5])
def test_a_split_file_without_train_rows_is_a_clear_error(tmp_path, sides):
    folder = make_image_folder(tmp_path / "d", ("red", "blue"), per_class=5)
    source = open_data(write_split(folder, sides))
    with pytest.raises(DataError, match=r"split.csv: no train rows \(only .*test"):
        train_valid_sets(source, 0.2, 0)
