"""`imclass predict --shard I/N` and `--merge`: the shards of a folder, merged, are the rows one
run over the folder writes."""

import json
import shutil

import pytest
from tests.helpers import invoke, one_error_line


@pytest.fixture
def photos(request, red_blue_run, tmp_path):
    """The red/blue run's own images with an unreadable file among them, or real photos."""
    if request.param == "hymenoptera":
        return request.getfixturevalue("shared_data") / "hymenoptera" / "val"
    folder = shutil.copytree(red_blue_run.parent / "data", tmp_path / "images")
    (folder / "blue" / "broken.jpg").write_bytes(b"")
    return folder


# hymenoptera's 153 photos, scored twice: ~25 s on a busy 2-core machine
@pytest.mark.parametrize(
    "photos", ["generated", pytest.param("hymenoptera", marks=pytest.mark.slow)], indirect=True
)
def test_three_shards_merged_equal_one_run_row_for_row(red_blue_run, photos, tmp_path):
    whole = invoke("predict", red_blue_run, photos, "--runtime", "torch", "--format", "csv")
    assert whole.exit_code == 0, whole.stderr
    for index in (2, 0, 1):
        scored = invoke(
            "predict", red_blue_run, photos, "--runtime", "torch", "--shard", f"{index}/3",
            "--out", tmp_path / "shards",
        )  # fmt: skip
        assert scored.exit_code == 0, scored.stderr
        assert f"predictions.shard-{index}-of-3.json" in scored.stderr
    merged = invoke("predict", "--merge", tmp_path / "shards", "--format", "csv")
    assert merged.exit_code == 0, merged.stderr
    assert merged.stdout == whole.stdout
    rows = whole.stdout.splitlines()
    assert len(rows) > 16 and rows[0] == "path,class_1,prob_1,class_2,prob_2,error"


def test_torchrun_rank_picks_the_shard_and_a_missing_one_is_an_error(
    red_blue_run, tmp_path, monkeypatch
):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    data = red_blue_run.parent / "data"
    scored = invoke("predict", red_blue_run, data, "--runtime", "torch", "--out", tmp_path)
    assert scored.exit_code == 0, scored.stderr
    shard = json.loads((tmp_path / "predictions.shard-1-of-2.json").read_text())
    assert (shard["shard"], shard["shards"], shard["total"], len(shard["rows"])) == (1, 2, 16, 8)
    assert shard["rows"][0]["path"].endswith("red_0.png")  # blue/ sorts before red/
    assert len(shard["model"]["weights_sha256"]) == 64 and shard["settings"]["runtime"] == "torch"
    monkeypatch.delenv("WORLD_SIZE")
    line = one_error_line(invoke("predict", "--merge", tmp_path))
    assert line.startswith("error: 1 of 2 shards missing: 0/2;")


def test_options_that_do_not_apply_are_refused(red_blue_run, tmp_path):
    data = red_blue_run.parent / "data"
    no_out = invoke("predict", red_blue_run, data, "--shard", "0/2")
    assert no_out.exit_code == 2 and "give it with --out" in no_out.stderr
    formatted = invoke("predict", red_blue_run, data, "--shard", "0/2", "--format", "csv")
    assert formatted.exit_code == 2 and "--format does not apply to --shard" in formatted.stderr
    merged = invoke("predict", "--merge", tmp_path, "--top-k", "2")
    assert merged.exit_code == 2 and "--top-k does not apply to --merge" in merged.stderr
