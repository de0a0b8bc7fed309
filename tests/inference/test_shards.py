"""Shards: blocks that tile the list, and a merge that refuses anything but one whole."""

import pytest

from imclass.errors import ConfigError, ShardError
from imclass.inference.shards import (
    Shard,
    ShardResult,
    list_digest,
    merge_shards,
    parse_shard,
    shard_files,
    shard_from_environment,
    write_shard,
)

PATHS = [f"/d/{i:02d}.jpg" for i in range(10)]
MODEL = {"weights_sha256": "a" * 64, "model_json_sha256": "b" * 64}
SETTINGS = {"runtime": "torch", "top_k": 2, "multilabel": False}


def shard_result(index: int, count: int, paths=PATHS, **changes) -> ShardResult:
    shard = Shard(index, count)
    rows = tuple((paths[i], [("ant", 0.75), ("bee", 0.25)], "") for i in shard.block(len(paths)))
    fields = {"model": MODEL, "settings": SETTINGS, "rows": rows, **changes}
    return ShardResult(shard, len(paths), list_digest(paths), **fields)


def write_all(folder, results):
    return [write_shard(folder, result) for result in results]


@pytest.mark.parametrize("total", [0, 1, 2, 7, 10, 101])
@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_blocks_tile_the_list_in_order_and_differ_by_one_at_most(total, count):
    blocks = [Shard(i, count).block(total) for i in range(count)]
    assert [i for block in blocks for i in block] == list(range(total))
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_shard_text_and_torchrun_environment():
    assert parse_shard("1/3") == Shard(1, 3) and parse_shard(" 0 / 1 ") == Shard(0, 1)
    for bad in ("3/3", "1", "a/b", "-1/3", "1/0"):
        with pytest.raises(ConfigError, match="'shard' parameter of predict"):
            parse_shard(bad)
    assert shard_from_environment({"RANK": "2", "WORLD_SIZE": "4"}) == Shard(2, 4)
    assert shard_from_environment({"RANK": "0", "WORLD_SIZE": "1"}) is None
    assert shard_from_environment({}) is None
    assert Shard(1, 3).file_name == "predictions.shard-1-of-3.json"


def test_merge_joins_the_rows_in_list_order_whatever_the_file_order(tmp_path):
    files = write_all(tmp_path, [shard_result(i, 3) for i in (2, 0, 1)])
    rows, first = merge_shards(files)
    assert [row[0] for row in rows] == PATHS
    assert rows[0][1] == [("ant", 0.75), ("bee", 0.25)] and first.settings == SETTINGS
    assert shard_files([tmp_path]) == sorted(files)


@pytest.mark.parametrize(
    ("others", "message"),
    [
        ([shard_result(0, 3), shard_result(2, 3)], "1 of 3 shards missing: 1/3"),
        ([shard_result(0, 2), shard_result(1, 3)], "is one of 3 shards"),
        (
            [shard_result(0, 2), shard_result(1, 2, model={**MODEL, "weights_sha256": "c" * 64})],
            "was scored by another model",
        ),
        ([shard_result(0, 2), shard_result(1, 2, paths=PATHS[:9])], "split another file list"),
        (
            [shard_result(0, 2), shard_result(1, 2, settings={**SETTINGS, "top_k": 3})],
            "with other settings",
        ),
        ([shard_result(0, 2), shard_result(1, 2, rows=())], "holds 0 rows where shard 1 of 2"),
    ],
)
def test_merge_refuses_shards_that_do_not_make_one_whole(tmp_path, others, message):
    files = [write_shard(tmp_path / str(i), result) for i, result in enumerate(others)]
    with pytest.raises(ShardError, match=message):
        merge_shards(files)


def test_a_shard_given_twice_and_a_foreign_file_are_named(tmp_path):
    one, two = write_shard(tmp_path / "a", shard_result(0, 2)), shard_result(0, 2)
    again = write_shard(tmp_path / "b", two)
    with pytest.raises(ShardError, match=f"shard 0 of 2 given twice: {one} and {again}"):
        merge_shards([one, again])
    (tmp_path / "notes.json").write_text('{"rows": []}')
    with pytest.raises(ShardError, match="notes.json: not a shard file"):
        merge_shards([tmp_path / "notes.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ShardError, match="empty: no predictions.shard-"):
        shard_files([tmp_path / "empty"])
