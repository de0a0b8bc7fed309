from pathlib import Path

import pytest

from imclass.data.dataset import LabelOptions
from imclass.errors import ConfigError, DataError
from imclass.experiments.hard_negatives import merged_options, negative_class, write_rounds
from imclass.experiments.pool import split_pool
from tests.helpers import colour_image

# The negative class of the synthetic case holds greys; the pool adds purples and magentas,
# between red and blue, that a first model calls red or blue (with greens and yellows among
# the negatives, the first model called them "none" at some seeds: nothing to mine).
NEGATIVE_COLOURS = [(90, 90, 90), (128, 128, 128), (170, 170, 170)]
LOOK_ALIKES = [(150, 40, 160), (190, 40, 140), (110, 50, 190)]


def colour_folder(folder: Path, colours, count: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        colour_image(colours[i % len(colours)], 48, seed=seed + i).save(folder / f"{i}.png")
    return folder


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
