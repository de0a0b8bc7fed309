import csv
import json

import pytest

from imclass.cli.learning_curve import learning_curve as command
from imclass.errors import ConfigError, TrainingInterrupted
from imclass.experiments.learning_curve import (
    DEFAULT_SIZES,
    CurvePlan,
    CurveSize,
    learning_curve,
    parse_sizes,
    resolve_sizes,
    training_images,
)
from imclass.experiments.points import held_out_split, images_per_class
from imclass.progress import Reporter, forget_interrupt, note_interrupt
from imclass.train.config import TrainConfig
from tests.helpers import invoke, make_image_folder, one_error_line

CHEAP = {
    "model": "tf_efficientnet_lite0",
    "epochs": 1,
    "image_size": 64,
    "batch_size": 8,
    "flip_tta": False,
    "wise_alpha": 1.0,
    "workers": 0,
}


def test_sizes_are_increasing_positive_ints_with_all_last():
    command_default = {p.name: p.default for p in command.params}["sizes"]
    assert parse_sizes(command_default) == parse_sizes(DEFAULT_SIZES) == CurvePlan().sizes
    assert parse_sizes("5,10,20,all") == (5, 10, 20, "all")
    assert parse_sizes(" 2, 4 ") == (2, 4)
    assert parse_sizes("3,ALL") == (3, "all")
    for bad in ("0", "abc", "10,5", "5,5", "all,5", "", "5,,10", "-5", "2.5"):
        with pytest.raises(ConfigError, match=r"'sizes' parameter of learning-curve must be"):
            parse_sizes(bad)


def test_each_repeats_subsets_nest_and_never_hold_a_test_image(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=12)
    held = held_out_split(data, test_fraction=0.25, seed=0)
    sizes = resolve_sizes((2, 4, "all"), held, Reporter(quiet=True))
    assert sizes == (CurveSize("2", 2), CurveSize("4", 4), CurveSize("all", 9))
    drawn = {}
    for repeat in (0, 1):
        subsets = [set(training_images(held, size, repeat, seed=0).paths) for size in sizes]
        assert subsets[0] < subsets[1] < subsets[2] == set(held.train.paths)
        assert not subsets[2] & set(held.test.paths)
        four = training_images(held, sizes[1], repeat, seed=0)
        assert images_per_class(four, held.classes) == {"red": 4, "blue": 4, "green": 4}
        drawn[repeat] = subsets[1]
    assert drawn[0] != drawn[1]  # repeats draw different subsets


def test_all_covers_sizes_over_the_smallest_class_else_one_error(tmp_path, capsys):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=20)
    for extra in range(12, 20):  # red: 12 images, blue: 20
        (data / "red" / f"red_{extra}.png").unlink()
    held = held_out_split(data, test_fraction=0.25, seed=0)
    assert images_per_class(held.train, held.classes) == {"blue": 15, "red": 9}
    sizes = resolve_sizes((4, 9, 10, "all"), held, Reporter(live=False))
    assert sizes == (CurveSize("4", 4), CurveSize("9", 9), CurveSize("all", 12))
    assert "sizes 10: class 'red' has 9 images for training (12 less 3 held out); 'all' covers" in (
        capsys.readouterr().err
    )
    with pytest.raises(ConfigError, match=r"size 10 is more .* class 'red' has 9 images"):
        resolve_sizes((4, 10), held, Reporter(quiet=True))
    with pytest.raises(ConfigError, match=r"two sizes or more; the data leaves only all \(12\)"):
        resolve_sizes((10, "all"), held, Reporter(quiet=True))


class CtrlCAfterFirstPoint(Reporter):
    """A user who presses Ctrl-C as soon as the first point is reported."""

    def line(self, text: str) -> None:
        super().line(text)
        if text.startswith("size "):
            raise KeyboardInterrupt


class CtrlCSwallowedAfterLastPoint(Reporter):
    """Notes a Ctrl-C as the CLI's handler does when Python swallowed the KeyboardInterrupt,
    after the last point's safe point."""

    def line(self, text: str) -> None:
        super().line(text)
        if text.startswith("size 4, repeat 0"):
            note_interrupt()


def test_a_ctrl_c_swallowed_during_the_last_point_still_ends_with_the_resume_hint(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=12)
    plan = CurvePlan((2, 4), repeats=1, seed=0)
    try:
        with pytest.raises(TrainingInterrupted, match=r"2 of 2 points finished .* same command"):
            learning_curve(
                data,
                tmp_path / "o",
                plan,
                TrainConfig(**CHEAP),
                reporter=CtrlCSwallowedAfterLastPoint(),
            )
    finally:
        forget_interrupt()
    assert not (tmp_path / "o" / "curve.csv").exists()


def test_learning_curve_end_to_end_resumes_after_ctrl_c_and_retrains_nothing(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=12)
    out = tmp_path / "curve"
    plan = CurvePlan((2, 4), repeats=1, seed=0)
    with pytest.raises(TrainingInterrupted, match=r"1 of 2 points finished .* same command again"):
        learning_curve(data, out, plan, TrainConfig(**CHEAP), reporter=CtrlCAfterFirstPoint())
    points = out / "points"
    assert (points / "size-2-repeat-0" / "point.json").is_file()
    assert not (points / "size-4-repeat-0" / "point.json").exists()

    cheap = [f"--set={name}={value}" for name, value in CHEAP.items()]
    args = ["learning-curve", data, "--sizes", "2,4", "--repeats", "1", "--out", out, *cheap]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "size 2, repeat 0: accuracy" in first.stderr and "(reused)" in first.stderr
    assert "size 4, repeat 0: accuracy" in first.stderr

    saved = {
        s: json.loads((points / f"size-{s}-repeat-0" / "point.json").read_text()) for s in (2, 4)
    }
    rows = list(csv.DictReader((out / "curve.csv").open()))
    assert [(r["size"], r["repeat"]) for r in rows] == [("2", "0"), ("4", "0")]
    for row, size in zip(rows, (2, 4), strict=True):
        assert float(row["accuracy"]) == pytest.approx(saved[size]["accuracy"], abs=1e-4)
        assert float(row["seconds"]) == saved[size]["seconds"] > 0
        assert saved[size]["train_images"] == 2 * size and saved[size]["test_images"] == 6
    per_class = list(csv.DictReader((out / "per_class.csv").open()))
    assert [(r["size"], r["class"]) for r in per_class] == [
        ("2", "blue"),
        ("2", "red"),
        ("4", "blue"),
        ("4", "red"),
    ]
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    verdict = (out / "verdict.txt").read_text().splitlines()
    assert verdict[0].startswith("accuracy gained ") and verdict[0] in first.stdout
    assert verdict[1] in first.stdout

    models = [points / f"size-{s}-repeat-0" / "run" / "model.safetensors" for s in (2, 4)]
    before = [m.stat().st_mtime_ns for m in models]
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert again.stderr.count("(reused)") == 2
    assert [m.stat().st_mtime_ns for m in models] == before
    assert list(csv.DictReader((out / "curve.csv").open())) == rows

    other = invoke(*args, "--set", "epochs=2")
    assert "holds another experiment (settings differ: settings={" in one_error_line(other)
    assert "'epochs': 1" in other.stderr and [m.stat().st_mtime_ns for m in models] == before


@pytest.mark.parametrize("sizes", ["0", "abc", "10,5"])
def test_bad_sizes_are_one_line(tmp_path, sizes):
    data = make_image_folder(tmp_path / "data", per_class=4)
    result = invoke("learning-curve", data, "--sizes", sizes, "--out", tmp_path / "curve")
    assert f"Got {sizes!r} instead." in one_error_line(result)
    assert result.exit_code == 2 and not (tmp_path / "curve").exists()


def test_a_size_over_the_smallest_class_without_all_is_one_line(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=8)
    for i in (6, 7):
        (data / "red" / f"red_{i}.png").unlink()
    result = invoke("learning-curve", data, "--sizes", "2,10", "--out", tmp_path / "curve")
    assert one_error_line(result) == (
        "error: size 10 is more images per class than there are: class 'red' has 4 images for "
        "training (6 less 2 held out); use sizes up to 4, or end --sizes with 'all' to train on "
        "every image"
    )
