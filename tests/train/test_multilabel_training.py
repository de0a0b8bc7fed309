"""Multi-label end to end on generated colour composites: the labels are the colours shown."""

import csv
import json

import numpy as np
import pytest
from PIL import Image
from tests.helpers import CLASS_COLOURS, invoke

from imclass import ImageClassifier
from imclass.models import MULTILABEL_MODEL

# Every test here uses one real training (30 head epochs on 60 composites: ~15 s on a CPU).
pytestmark = pytest.mark.slow

COLOURS = list(CLASS_COLOURS)


def colour_composite(shown, seed: int) -> Image.Image:
    """A 2 x 2 grid: one noisy tile per colour shown, grey elsewhere."""
    rng = np.random.default_rng(seed)
    grid = np.full((64, 64, 3), 128.0)
    for cell, name in zip(rng.permutation(4), shown, strict=False):
        y, x = (cell // 2) * 32, (cell % 2) * 32
        grid[y : y + 32, x : x + 32] = np.array(CLASS_COLOURS[name]) + rng.normal(
            0, 15, (32, 32, 3)
        )
    return Image.fromarray(np.clip(grid, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def composites(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        shown = sorted(rng.choice(COLOURS, rng.integers(1, 4), replace=False))
        colour_composite(shown, i).save(root / "images" / f"c{i:03d}.png")
        rows.append([f"c{i:03d}.png", " ".join(shown)])
    with (root / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["filename", "labels"], *rows])
    return root


@pytest.fixture(scope="module")
def trained(composites):
    clf = ImageClassifier(
        image_size=64,
        head_epochs=30,
        epochs=1,
        batch_size=16,
        workers=0,
        run_dir=composites / "run",
        verbose=False,
    )
    return clf.fit(composites / "labels.csv")


def test_multilabel_is_detected_and_thresholds_are_stored(trained):
    spec = json.loads((trained.run_dir_ / "model.json").read_text())
    assert spec["multilabel"] is True and spec["classes"] == ["blue", "green", "red"]
    # the multi-label defaults: the stronger offline backbone under a class-attention head
    assert spec["architecture"] == MULTILABEL_MODEL and spec["head"] == "csra"
    assert len(spec["thresholds"]) == 3 and all(0 < t < 1 for t in spec["thresholds"])
    metrics = json.loads((trained.run_dir_ / "metrics.json").read_text())
    assert metrics["multilabel"] and metrics["thresholds"] == spec["thresholds"]
    assert metrics["exact_match"] >= 0.75 and metrics["hamming_accuracy"] >= 0.9
    assert set(metrics["per_label"]["red"]) >= {
        "precision",
        "recall",
        "f1",
        "average_precision",
        "tp",
        "fp",
        "fn",
        "tn",
    }


def test_report_has_the_multilabel_sections(trained):
    text = (trained.run_dir_ / "report.html").read_text()
    for section in (
        "summary",
        "training-curves",
        "per-label",
        "thresholds",
        "pr-curves",
        "confusions",
        "worst-mistakes",
    ):
        assert f'id="{section}"' in text


def test_predict_gives_every_label_above_its_threshold(trained, composites, tmp_path):
    colour_composite(["blue", "red"], 999).save(tmp_path / "blue_red.png")
    colour_composite(["green"], 998).save(tmp_path / "green.png")
    paths = [tmp_path / "blue_red.png", tmp_path / "green.png"]
    probs = trained.predict_proba(paths)
    thresholds = np.asarray(trained.spec_.thresholds)
    expected = [
        [c for c, p, t in zip(trained.classes_, row, thresholds, strict=True) if p >= t]
        for row in probs
    ]
    predicted = trained.predict(paths)
    assert predicted == expected  # exactly the labels at or above their thresholds
    assert {"blue", "red"} <= set(predicted[0]) and "green" in predicted[1]
    blue, green, red = probs[0]
    assert min(blue, red) > green  # the colours shown outrank the one not shown
    result = invoke("predict", trained.run_dir_, tmp_path / "blue_red.png", "--format", "json")
    assert result.exit_code == 0, result.exception or result.stderr
    from_cli = json.loads(result.stdout)[0]["predictions"]
    assert sorted(p["class"] for p in from_cli) == sorted(expected[0])
    assert [p["probability"] for p in from_cli] == sorted(
        (p["probability"] for p in from_cli), reverse=True
    )


def test_evaluate_on_a_labels_file(trained, composites, tmp_path):
    result = invoke("evaluate", trained.run_dir_, composites / "labels.csv", "--out", tmp_path)
    assert result.exit_code == 0, result.exception or result.stderr
    assert "exact match" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n_images"] == 60 and metrics["exact_match"] >= 0.75
