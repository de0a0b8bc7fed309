"""Issue 12's acceptance test at full scale: 7 items x 3 attributes x 50 per query against the
fake APIs make 21 queries and a data set of the expected counts, with a missing file and an
exact copy in every query; `imclass train OUT/` then trains on the folder as it is."""

import csv
import json
from collections import Counter

import pytest

from imclass.collect.download import DownloadSettings
from imclass.collect.queries import QuerySpec, plan_queries
from imclass.collect.run import CollectSettings, collect
from tests.helpers import invoke, local_provider

ITEMS = ("blouse", "hoodie", "pullover", "sweater", "t-shirt", "tank top", "cardigan")
ATTRIBUTES = ("striped", "dotted", "leopard")
PER_QUERY = 50
MISSING, COPY = 10, 30  # in every query's results: a 404, and the bytes of its first image


def serve_query(apis, number: int, text: str, image_bytes) -> None:
    """50 results: 48 distinct images, a 404 and an exact copy of the first one."""
    paths = [f"/{number}/{i}.jpg" for i in range(PER_QUERY)]
    apis.results[text] = paths
    seeds = iter(range(number * PER_QUERY, (number + 1) * PER_QUERY))
    for i, path in enumerate(paths):
        if i == COPY:
            apis.serve(path, image_bytes(number * PER_QUERY))
        elif i != MISSING:
            apis.serve(path, image_bytes(next(seeds)))


@pytest.mark.slow  # 1,050 downloads, a training: 68 s on 2 busy cores (40 s of CPU)
def test_seven_items_by_three_attributes_by_fifty_collect_then_train(
    fake_apis, image_bytes, tmp_path
):
    queries = plan_queries(QuerySpec(ITEMS, ATTRIBUTES))
    assert len(queries) == 21
    for number, query in enumerate(queries):
        serve_query(fake_apis, number, query.text, image_bytes)
    out = tmp_path / "shirts"
    settings = CollectSettings(
        per_query=PER_QUERY, download=DownloadSettings(allow_private_urls=True)
    )
    summary = collect(queries, local_provider("openverse", fake_apis.base), out, settings)

    classes = sorted(item.replace(" ", "_") for item in ITEMS)
    assert (summary.asked, summary.returned, summary.downloaded) == (1050, 1050, 1029)
    assert summary.rejected == {"HTTP 404": 21} and summary.duplicates == 21
    assert summary.kept == {name: 3 * 48 for name in classes}
    assert fake_apis.requests.count("/v1/images/") == 21 * 3  # 20 a page without a token
    with (out / "manifest.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1050
    assert Counter(row["status"] for row in rows) == {"kept": 1008, "duplicate": 21, "rejected": 21}
    others = {
        (row["url"].rsplit("/", 1)[1], row["status"], row["reason"][:13])
        for row in rows
        if row["status"] != "kept"
    }
    assert others == {
        (f"{MISSING}.jpg", "rejected", "HTTP 404"),
        (f"{COPY}.jpg", "duplicate", "same bytes as"),
    }
    stored = Counter(p.parent.name for p in out.rglob("*.jpg"))
    assert stored == {name: 144 for name in classes}

    run = tmp_path / "run"  # the cheapest training: 32 px, the head alone, one epoch
    trained = invoke(
        "train", out, "--out", run, "--model", "tf_efficientnet_lite0", "--image-size", "32",
        "--head-epochs", "0", "--epochs", "1", "--frozen-fraction", "1.0", "--wise-alpha", "1.0",
        "--batch-size", "64", "--augment", "none", "--no-flip-tta", "--workers", "0",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.stderr
    assert "7 classes, 805 train / 203 validation images" in trained.stderr  # all 1,008
    model = json.loads((run / "model.json").read_text())
    assert (model["architecture"], model["classes"]) == ("tf_efficientnet_lite0", classes)
    assert (run / "model.safetensors").stat().st_size > 1_000_000
