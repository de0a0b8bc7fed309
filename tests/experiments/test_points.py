import json

import pytest

from imclass.data.split import per_class_subset
from imclass.errors import ConfigError, DataError
from imclass.experiments.points import (
    held_out_split,
    images_per_class,
    start_experiment,
    train_point,
)
from imclass.train.config import TrainConfig
from tests.helpers import make_image_folder

FAST = TrainConfig(epochs=1, image_size=64, batch_size=8, flip_tta=False, wise_alpha=1.0)


def test_held_out_split_is_stratified_and_disjoint(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=12)
    held = held_out_split(data, test_fraction=0.25, seed=3)
    assert images_per_class(held.test, held.classes) == {"red": 3, "blue": 3, "green": 3}
    assert images_per_class(held.train, held.classes) == {"red": 9, "blue": 9, "green": 9}
    assert not set(held.train.paths) & set(held.test.paths)
    again = held_out_split(data, test_fraction=0.25, seed=3)
    assert again.test.paths == held.test.paths


def test_held_out_split_takes_a_split_files_test_rows(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6)
    rows = ["path,label,split"]
    for name in ("red", "blue"):
        rows += [f"{name}/{name}_{i}.png,{name},{'test' if i < 2 else 'train'}" for i in range(6)]
    (data / "split.csv").write_text("\n".join(rows) + "\n")
    held = held_out_split(data / "split.csv")
    assert sorted(p.name for p in held.test.paths) == [
        "blue_0.png",
        "blue_1.png",
        "red_0.png",
        "red_1.png",
    ]
    assert len(held.train) == 8


def test_held_out_split_refuses_a_fraction_outside_zero_one(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6)
    with pytest.raises(DataError, match=r"fraction must be in \(0, 1\); got 1.5"):
        held_out_split(data, test_fraction=1.5)


def test_per_class_subsets_nest(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=12)
    held = held_out_split(data, seed=0)
    sizes = [2, 4, 8]
    subsets = [set(per_class_subset(held.train, held.classes, n, seed=5).paths) for n in sizes]
    assert [len(s) for s in subsets] == [6, 12, 24]
    assert subsets[0] < subsets[1] < subsets[2]
    other = set(per_class_subset(held.train, held.classes, 4, seed=6).paths)
    assert other != subsets[1]


def test_train_point_scores_the_held_out_side_and_is_not_trained_twice(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=12)
    held = held_out_split(data, test_fraction=0.25, seed=0)
    point = train_point(held, held.train, tmp_path / "point", FAST)
    assert point["test_images"] == 6 and point["train_images"] == 18
    assert point["accuracy"] == 1.0  # red against blue
    assert set(point["recall"]) == {"red", "blue"}
    saved = json.loads((tmp_path / "point" / "point.json").read_text())
    assert saved == point
    scored = json.loads((tmp_path / "point" / "heldout" / "metrics.json").read_text())
    assert scored["n_images"] == 6
    (tmp_path / "point" / "run" / "model.safetensors").unlink()  # would fail if trained again
    assert train_point(held, held.train, tmp_path / "point", FAST) == point


def test_an_experiment_folder_resumes_only_the_same_experiment(tmp_path):
    out = start_experiment(tmp_path / "curve", {"data": tmp_path, "sizes": [5, 10]})
    assert start_experiment(out, {"data": tmp_path, "sizes": [5, 10]}) == out
    with pytest.raises(
        ConfigError, match=r"holds another experiment \(sizes differ: sizes=\[5, 10\]"
    ):
        start_experiment(out, {"data": tmp_path, "sizes": [5, 20]})
