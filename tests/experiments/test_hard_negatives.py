import csv
import hashlib
import os
from pathlib import Path

import pytest
import yaml

from imclass.data.dataset import LabelOptions
from imclass.errors import ConfigError, DataError
from imclass.experiments.hard_negatives import (
    MiningPlan,
    merged_options,
    negative_class,
    write_rounds,
)
from imclass.experiments.pool import split_pool
from imclass.train.config import TrainConfig
from tests.helpers import colour_image, invoke, one_error_line

# The negative class of the synthetic case holds greys; the pool adds purples and magentas,
# between red and blue, that a first model calls red or blue (with greens and yellows among
# the negatives, the first model called them "none" at some seeds: nothing to mine).
NEGATIVE_COLOURS = [(90, 90, 90), (128, 128, 128), (170, 170, 170)]
LOOK_ALIKES = [(150, 40, 160), (190, 40, 140), (110, 50, 190)]
# Probe-only training (no fine-tuning epoch) keeps two trainings under a minute or so.
PROBE = TrainConfig(epochs=0, image_size=64, batch_size=8, flip_tta=False)


def colour_folder(folder: Path, colours, count: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        colour_image(colours[i % len(colours)], 48, seed=seed + i).save(folder / f"{i}.png")
    return folder


def synthetic_data(root: Path, per_class: int = 12) -> Path:
    colour_folder(root / "red", [(200, 40, 40)], per_class, 0)
    colour_folder(root / "blue", [(40, 60, 200)], per_class, 1000)
    colour_folder(root / "none", NEGATIVE_COLOURS, per_class, 2000)
    return root


def config_only_run(folder: Path, data: Path) -> Path:
    """What the command reads of a run (it trains its own round 0): its config.yaml."""
    folder.mkdir(parents=True)
    config = {"data": str(data), "train": PROBE.to_dict()}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (links as their targets' names) and its bytes' SHA-256."""
    digest = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            digest[key] = "link to " + os.readlink(path)
        elif path.is_file():
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def test_split_pool_holds_out_a_fixed_fraction_by_seed(tmp_path):
    pool = colour_folder(tmp_path / "pool", LOOK_ALIKES, 10, 0)
    split = split_pool(pool, 0.3, seed=4)
    assert (len(split.mine), len(split.test)) == (7, 3)
    assert not set(split.mine) & set(split.test)
    assert all(p.is_absolute() for p in split.test)
    assert split_pool(pool, 0.3, seed=4) == split
    assert split_pool(pool, 0.3, seed=5).test != split.test


def test_split_pool_follows_links_to_folders_and_notes_broken_ones(tmp_path):
    colour_folder(tmp_path / "elsewhere", LOOK_ALIKES, 4, 0)
    pool = colour_folder(tmp_path / "pool", NEGATIVE_COLOURS, 2, 10)
    (pool / "linked").symlink_to(tmp_path / "elsewhere")
    (pool / "gone").symlink_to(tmp_path / "nowhere")
    split = split_pool(pool, 0.5, seed=0)
    assert sorted(p.relative_to(pool).as_posix() for p in (*split.mine, *split.test)) == [
        "0.png",
        "1.png",
        "linked/0.png",
        "linked/1.png",
        "linked/2.png",
        "linked/3.png",
    ]
    assert len(split.notes) == 1 and f"{pool / 'gone'}: broken link" in split.notes[0]


def test_split_pool_refuses_a_pool_too_small_to_split(tmp_path):
    pool = colour_folder(tmp_path / "pool", LOOK_ALIKES, 1, 0)
    with pytest.raises(DataError, match=r"pool: 1 image file\(s\) \(.*\); a pool needs images"):
        split_pool(pool, 0.3, seed=0)


def test_the_negative_class_is_the_one_named_so_or_the_one_given():
    assert negative_class(("Background", "cat", "dog"), None, "run") == "Background"
    assert negative_class(("cat", "dog", "none"), "dog", "run") == "dog"
    with pytest.raises(
        ConfigError, match=r"run: no class is named like none/negative/.*\(cat, dog\)"
    ):
        negative_class(("cat", "dog"), None, "run")
    with pytest.raises(ConfigError, match="several classes are named like"):
        negative_class(("none", "other", "dog"), None, "run")
    with pytest.raises(ConfigError, match="Did you mean 'none'"):
        negative_class(("cat", "none"), "nnoe", "run")


def test_a_confidence_outside_zero_one_is_refused():
    with pytest.raises(ConfigError, match="'confidence' parameter of hard-negatives must be in"):
        MiningPlan(confidence=1.5)


def test_label_options_given_replace_the_runs_one_by_one():
    recorded = LabelOptions(skip_missing=True, root="/data")
    given = LabelOptions(delimiter=";")
    assert merged_options(recorded, given) == LabelOptions(None, ";", True, "/data")
    assert merged_options(recorded, None) == recorded


def test_rounds_csv_and_plot_are_written_from_the_rounds(tmp_path):
    rows = [
        {
            "round": 0,
            "mined_total": 0,
            "false_positive_rate": 0.4,
            "accuracy": 1.0,
            "seconds": 9.87,
        },
        {"round": 1, "mined_total": 7, "false_positive_rate": 0.0, "accuracy": 0.9, "seconds": 12},
    ]
    write_rounds(tmp_path, rows)
    assert (tmp_path / "rounds.csv").read_text() == (
        "round,mined_total,false_positive_rate,accuracy,seconds\n"
        "0,0,0.4000,1.0000,9.9\n"
        "1,7,0.0000,0.9000,12.0\n"
    )
    assert (tmp_path / "rounds.png").read_bytes().startswith(b"\x89PNG")


@pytest.fixture
def data_and_run(tmp_path):
    data = synthetic_data(tmp_path / "data")
    return data, config_only_run(tmp_path / "run", data)


def test_a_pool_without_images_is_one_line(tmp_path, data_and_run):
    _, run = data_and_run
    (tmp_path / "empty").mkdir()
    result = invoke("hard-negatives", run, tmp_path / "empty", "--out", tmp_path / "out")
    assert "empty: no image file(s) (.bmp .gif" in one_error_line(result)
    assert not (tmp_path / "out").exists()


def test_missing_paths_are_one_line(tmp_path, data_and_run):
    data, run = data_and_run
    pool = colour_folder(tmp_path / "pool", LOOK_ALIKES, 4, 0)
    missing_pool = invoke("hard-negatives", run, tmp_path / "nope", "--out", tmp_path / "out")
    assert one_error_line(missing_pool) == f"error: {tmp_path / 'nope'}: no such file or folder"
    missing_run = invoke("hard-negatives", tmp_path / "norun", pool, "--out", tmp_path / "out")
    assert "not a run directory (config.yaml is missing)" in one_error_line(missing_run)


def test_a_run_without_a_negative_class_is_one_line_listing_its_classes(tmp_path):
    data = synthetic_data(tmp_path / "data", per_class=4)
    (data / "none").rename(data / "green")
    run = config_only_run(tmp_path / "run", data)
    pool = colour_folder(tmp_path / "pool", LOOK_ALIKES, 4, 0)
    result = invoke("hard-negatives", run, pool, "--out", tmp_path / "out")
    line = one_error_line(result)
    assert "no class is named like none/negative/background/other" in line
    assert "(blue, green, red); pass --negative-class NAME" in line
    assert result.exit_code == 2


def test_a_pool_inside_the_data_set_is_refused(tmp_path, data_and_run):
    data, run = data_and_run
    result = invoke("hard-negatives", run, data / "none", "--out", tmp_path / "out")
    assert "12 pool image(s) are in the data set too" in one_error_line(result)


@pytest.mark.slow
def test_mining_lowers_the_false_positive_rate_and_changes_no_input(tmp_path):
    """58-83 s measured on 2 busy cores: two probe-only trainings (rounds 0 and 1; round 2 too if
    round 1's model still calls a pool image left a class) and their passes over the pool.
    RUN is its config.yaml, all the command reads of it."""
    data = synthetic_data(tmp_path / "data")
    pool = tmp_path / "pool"
    colour_folder(pool / "look-alikes", LOOK_ALIKES, 24, 3000)
    colour_folder(pool / "plain", NEGATIVE_COLOURS, 8, 4000)
    (pool / "plain" / "broken.png").write_bytes(b"not a png")
    run = config_only_run(tmp_path / "run", data)
    before = tree_digest(data), tree_digest(pool)
    out = tmp_path / "out"

    result = invoke("hard-negatives", run, pool, "--out", out, "--rounds", "2")

    assert result.exit_code == 0, result.output
    assert f"skipped {pool / 'plain' / 'broken.png'}" in result.stderr
    assert (tree_digest(data), tree_digest(pool)) == before
    rows = list(csv.DictReader((out / "rounds.csv").open()))
    rates = [float(row["false_positive_rate"]) for row in rows]
    assert len(rows) >= 2 and rates[0] >= 0.3 and rates[-1] < rates[0]
    assert (out / "rounds" / "2" / "mined.csv").is_file()  # mined: trained; none: stopped
    assert all(float(row["accuracy"]) >= 0.75 for row in rows)
    mined = list(csv.DictReader((out / "rounds" / "1" / "mined.csv").open()))
    assert int(rows[1]["mined_total"]) == len(mined) > 0
    assert all(row["predicted"] in ("red", "blue") for row in mined)
    assert all(float(row["probability"]) >= 0.5 for row in mined)
    sides = {row["path"]: row["side"] for row in csv.DictReader((out / "pool.csv").open())}
    assert len(sides) == 33 and list(sides.values()).count("test") == 10
    assert {sides[row["path"]] for row in mined} == {"mine"}
    first = Path(mined[0]["path"])
    link = out / "data" / "train" / "none" / "hard-negatives" / first.relative_to(pool)
    assert link.is_symlink() and os.readlink(link) == str(first)
    assert (out / "data" / "test" / "red").is_dir()

    for model in out.glob("rounds/*/run/model.safetensors"):
        model.unlink()  # a round trained or scored again would need its model
    again = invoke("hard-negatives", run, pool, "--out", out, "--rounds", "2")
    assert again.exit_code == 0, again.output
    assert list(csv.DictReader((out / "rounds.csv").open())) == rows
    other = invoke("hard-negatives", run, pool, "--out", out, "--set", "epochs=1")
    assert "(train.epochs differ: train.epochs=0); resume it" in one_error_line(other)
