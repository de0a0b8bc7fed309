"""The report's sections for multi-label data: per-label tables, thresholds, errors."""

from __future__ import annotations

import html

import numpy as np

from imclass.evaluate import plots
from imclass.evaluate.html_parts import figure_card, figures_table, image_tag
from imclass.evaluate.multilabel import threshold_curves
from imclass.inference.decisions import decide


def multilabel_sections(metrics: dict, targets, probs, paths) -> list[tuple[str, str, str]]:
    classes = metrics["classes"]
    pr_png, _ = plots.one_vs_rest_curves(targets, probs, classes, "pr")
    curves = plots.threshold_curves(threshold_curves(targets, probs), metrics["thresholds"])
    return [
        ("summary", "Summary", _summary(metrics)),
        ("per-label", "Per-label metrics and 2 x 2 tables", _per_label(metrics)),
        ("thresholds", "Metrics against the threshold", image_tag(curves, "threshold curves")),
        ("pr-curves", "Precision-recall curves", image_tag(pr_png, "precision-recall curves")),
        ("confusions", "Most frequent errors", _confusions(metrics)),
        (
            "worst-mistakes",
            "Worst mistakes (most labels wrong)",
            _worst(targets, probs, paths, classes, metrics["thresholds"]),
        ),
    ]


def _summary(metrics: dict) -> str:
    names = ("exact_match", "hamming_accuracy", "micro_f1", "macro_f1", "mAP")
    figures = {n: metrics[n] for n in names if metrics[n] is not None}
    return figures_table(figures, metrics["n_images"])


def _per_label(metrics: dict) -> str:
    head = (
        "<tr><th>label</th><th>threshold</th><th>precision</th><th>recall</th><th>F1</th>"
        "<th>AP</th><th>support</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr>"
    )
    rows = "".join(_label_row(name, m) for name, m in metrics["per_label"].items())
    return f"<table>{head}{rows}</table>"


def _label_row(name: str, m: dict) -> str:
    ap = "" if m["average_precision"] is None else f"{m['average_precision']:.3f}"
    numbers = [
        f"{m['threshold']:.3f}",
        f"{m['precision']:.3f}",
        f"{m['recall']:.3f}",
        f"{m['f1']:.3f}",
        ap,
        *(str(m[k]) for k in ("support", "tp", "fp", "fn", "tn")),
    ]
    return f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{n}</td>" for n in numbers) + "</tr>"


def _confusions(metrics: dict) -> str:
    if not metrics["confusions"]:
        return "<p>No errors on these images.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(c['label'])}</td><td>{c['kind']}</td><td>{c['images']}</td></tr>"
        for c in metrics["confusions"][:20]
    )
    return f"<table><tr><th>label</th><th>error</th><th>images</th></tr>{rows}</table>"


def _worst(targets, probs, paths, classes, thresholds, limit: int = 24) -> str:
    predicted = decide(probs, multilabel=True, thresholds=thresholds)
    wrong_labels = (predicted != targets.astype(bool)).sum(axis=1)
    distance = np.abs(probs - targets).sum(axis=1)
    order = [i for i in np.lexsort((-distance, -wrong_labels)) if wrong_labels[i]][:limit]
    if not order:
        return "<p>No mistakes on these images.</p>"

    def names(row) -> str:
        return html.escape(", ".join(classes[c] for c in np.flatnonzero(row)) or "(none)")

    return (
        '<div class="grid">'
        + "".join(
            figure_card(
                paths[i],
                f"true: {names(targets[i])}<br><span class=bad>predicted: "
                f"{names(predicted[i])}</span>",
            )
            for i in order
        )
        + "</div>"
    )
