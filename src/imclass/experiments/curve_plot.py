"""curve.png: held-out accuracy against images per class (mean, spread across repeats, each
repeat, and the fitted saturating curve), beside each class's recall, both on a log x axis."""

from __future__ import annotations

import numpy as np

from imclass.evaluate.plots import new_figure, png_bytes

MAX_LEGEND_CLASSES = 12  # past this the legend hides the lines; the CSV names them


def curve_figure(curve, fit=None) -> bytes:
    """Two panels as PNG bytes: accuracy, and recall per class (mean of repeats)."""
    figure = new_figure((11, 4.2))
    score_ax, class_ax = figure.subplots(1, 2)
    _draw_scores(score_ax, curve, fit)
    _draw_classes(class_ax, curve)
    for ax in (score_ax, class_ax):
        _size_axis(ax, curve)
    return png_bytes(figure)


def _draw_scores(ax, curve, fit) -> None:
    x, scores = curve.x, 100 * curve.scores()
    mean = np.nanmean(scores, axis=1)
    if curve.repeats > 1:
        spread = np.nanstd(scores, axis=1, ddof=1)
        ax.fill_between(x, mean - spread, mean + spread, alpha=0.2, label="± 1 std (repeats)")
    ax.scatter(np.repeat(x, curve.repeats), scores.ravel(), s=12, alpha=0.6, label="each repeat")
    ax.plot(x, mean, "o-", label="mean")
    if fit is not None:
        n = np.geomspace(x[0], 2 * x[-1], 50)
        ax.plot(n, fit(n), "--", color="grey", label="fit a - b·n^-c")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title("accuracy")
    ax.legend(fontsize="small")


def _draw_classes(ax, curve) -> None:
    for name, recalls in curve.recalls().items():
        ax.plot(curve.x, 100 * np.nanmean(recalls, axis=1), "o-", markersize=3, label=name)
    ax.set_ylabel("held-out recall (%)")
    ax.set_title("recall per class (mean of repeats)")
    if len(curve.classes) <= MAX_LEGEND_CLASSES:
        ax.legend(fontsize="small")


def _size_axis(ax, curve) -> None:
    ax.set_xscale("log")
    ax.set_xticks(curve.x, [size.shown for size in curve.sizes])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("training images per class")
