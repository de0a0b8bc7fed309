"""The Pareto front of a table of results (the most accurate for its latency) and its plot."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise

from imclass.evaluate.plots import new_figure, png_bytes


def pareto_front(
    rows: Sequence[Mapping],
    higher: str = "accuracy",
    lower: str = "latency_ms_median",
) -> list[bool]:
    """For each row, whether it is on the front: no other row is at least as good on both
    columns (`higher` larger, `lower` smaller) and strictly better on one. Ties: rows equal on
    both columns are all on the front (none beats another); a row that only matches another on
    one column and is worse on the other is not. A row missing either value (None, NaN) is
    never on the front and beats nothing.

    >>> pareto_front([{"accuracy": 0.9, "latency_ms_median": 10},
    ...               {"accuracy": 0.8, "latency_ms_median": 20}])
    [True, False]
    """
    points = [_point(row, higher, lower) for row in rows]
    return [p is not None and not any(_beats(q, p) for q in points if q) for p in points]


def _point(row: Mapping, higher: str, lower: str) -> tuple[float, float] | None:
    values = (row.get(higher), row.get(lower))
    if any(v is None or math.isnan(v) for v in values):
        return None
    return float(values[0]), float(values[1])


def _beats(q: tuple[float, float], p: tuple[float, float]) -> bool:
    """q dominates p: at least as accurate and as fast, and better in one."""
    return q[0] >= p[0] and q[1] <= p[1] and q != p


def pareto_plot(rows: Sequence[Mapping], device: str) -> bytes:
    """Accuracy against batch-1 latency, one labelled point per row (with its accuracy's std
    as an error bar), the front highlighted and joined; PNG bytes."""
    figure = new_figure((7.5, 5))
    ax = figure.subplots()
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["latency_ms_median"])
    ax.step(
        [r["latency_ms_median"] for r in front],
        [r["accuracy"] for r in front],
        where="post",
        color="tab:red",
        alpha=0.5,
        label="Pareto front",
    )
    for row, below in zip(rows, _labels_below(rows), strict=True):
        colour = "tab:red" if row["pareto"] else "tab:grey"
        x, y = row["latency_ms_median"], row["accuracy"]
        ax.errorbar(x, y, yerr=row.get("accuracy_std") or 0, fmt="o", color=colour, capsize=3)
        ax.annotate(
            f"{row['model']} {row['image_size']}",
            (x, y),
            textcoords="offset points",
            xytext=(5, -13 if below else 6),
            fontsize=8,
        )
    ax.set_xlabel(f"latency at batch 1, median (ms, {device})")
    ax.set_ylabel("held-out accuracy")
    ax.set_title("accuracy against latency: up and to the left is better")
    ax.margins(x=0.25, y=0.15)  # room for the labels
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return png_bytes(figure)


def _labels_below(rows: Sequence[Mapping]) -> list[bool]:
    """Rows of equal accuracy (common: one test set) side by side would print their labels
    over each other: in order of latency, every second one goes below its point."""
    below = [False] * len(rows)
    order = sorted(
        range(len(rows)), key=lambda i: (rows[i]["accuracy"], rows[i]["latency_ms_median"])
    )
    for before, i in pairwise(order):
        if rows[i]["accuracy"] == rows[before]["accuracy"]:
            below[i] = not below[before]
    return below
