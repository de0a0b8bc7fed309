"""report.html: one self-contained file, figures and thumbnails inlined, no server needed."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imclass.evaluate import plots
from imclass.evaluate.html_parts import figure_card, figures_table, image_tag, page
from imclass.evaluate.metrics import worst_mistakes
from imclass.files import write_text
from imclass.inference.decisions import decide


def _summary(metrics: dict) -> str:
    names = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "expected_calibration_error")
    figures = {n: metrics[n] for n in names}
    figures |= {f"top-{k} accuracy": v for k, v in metrics["top_k_accuracy"].items()}
    return figures_table(figures, metrics["n_images"])


def _per_class(metrics: dict, ap: dict, auc: dict) -> str:
    head = (
        "<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
        "<th>AP</th><th>ROC AUC</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{c['precision']:.3f}</td><td>{c['recall']:.3f}</td>"
        f"<td>{c['f1']:.3f}</td><td>{c['support']}</td><td>{ap.get(name, float('nan')):.3f}</td>"
        f"<td>{auc.get(name, float('nan')):.3f}</td></tr>"
        for name, c in metrics["per_class"].items()
    )
    return f"<table>{head}{rows}</table>"


def _worst_mistakes(labels, probs, paths, classes, limit: int = 24) -> str:
    predicted = decide(probs, multilabel=False)
    wrong = worst_mistakes(labels, probs, limit)
    if len(wrong) == 0:
        return "<p>No mistakes on these images.</p>"
    cards = "".join(
        figure_card(
            paths[i],
            f"true: {html.escape(classes[labels[i]])}<br><span class=bad>predicted: "
            f"{html.escape(classes[predicted[i]])}</span> ({probs[i, predicted[i]]:.2f})",
        )
        for i in wrong
    )
    return f'<div class="grid">{cards}</div>'


def training_curves_html(history: list[dict]) -> str:
    if not history:
        return "<p>No training history in this run directory (evaluation only).</p>"
    return image_tag(plots.training_curves(history), "training curves")


def system_usage_html(system: Sequence[dict]) -> str:
    start = system[0]["time"]
    minutes = (system[-1]["time"] - start) / 60
    caption = f"<p>{len(system)} samples over {minutes:.1f} minutes (system.csv).</p>"
    return caption + image_tag(plots.system_usage(system), "CPU, memory and GPU use over time")


def build_report(
    title: str,
    metrics: dict,
    labels,
    probs,
    paths,
    history: list[dict],
    system: Sequence[dict] = (),
) -> str:
    """The HTML text; sections have stable ids so tools and tests can find them. system: the
    machine's samples while training (system.csv); a section of their plot when there are."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    if metrics.get("multilabel"):
        from imclass.evaluate.multilabel_report import multilabel_sections

        sections = multilabel_sections(metrics, labels, probs, paths)
    else:
        sections = _single_label_sections(metrics, labels, probs, paths)
    sections.insert(1, ("training-curves", "Training curves", training_curves_html(history)))
    if system:
        sections.insert(2, ("system", "The machine while training", system_usage_html(system)))
    return page(title, sections)


def _single_label_sections(metrics: dict, labels, probs, paths) -> list[tuple[str, str, str]]:
    classes = metrics["classes"]
    onehot = np.eye(len(classes))[labels]
    pr_png, ap = plots.one_vs_rest_curves(onehot, probs, classes, "pr")
    roc_png, auc = plots.one_vs_rest_curves(onehot, probs, classes, "roc")
    matrix = plots.confusion_matrix(metrics["confusion_matrix"], classes)
    return [
        ("summary", "Summary", _summary(metrics)),
        ("confusion-matrix", "Confusion matrix", image_tag(matrix, "confusion matrix")),
        ("per-class", "Per-class metrics", _per_class(metrics, ap, auc)),
        ("pr-curves", "Precision-recall curves", image_tag(pr_png, "precision-recall curves")),
        ("roc-curves", "ROC curves", image_tag(roc_png, "ROC curves")),
        (
            "reliability",
            "Reliability diagram",
            f"<p>Expected calibration error {metrics['expected_calibration_error']:.4f}.</p>"
            + image_tag(plots.reliability_diagram(labels, probs), "reliability diagram"),
        ),
        (
            "worst-mistakes",
            "Worst mistakes (most confident wrong predictions)",
            _worst_mistakes(labels, probs, paths, classes),
        ),
    ]


def write_report(
    path: Path,
    title: str,
    metrics: dict,
    labels,
    probs,
    paths,
    history: list[dict],
    system: Sequence[dict] = (),
) -> Path:
    write_text(path, build_report(title, metrics, labels, probs, paths, history, system))
    return path
