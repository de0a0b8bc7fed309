"""report.html: one self-contained file, figures and thumbnails inlined, no server needed."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from imclass.data.images import UnreadableImage, load_rgb
from imclass.evaluate import plots
from imclass.files import write_text

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse}
td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:160px;font-size:12px}figure img{width:160px;height:160px;object-fit:cover}
.bad{color:#b00}
"""


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _thumbnail(path: Path) -> str:
    try:
        picture = load_rgb(path, min_size=160)
    except UnreadableImage:
        return ""
    picture.thumbnail((160, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return (
        f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode()}">'
    )


def _summary(metrics: dict) -> str:
    names = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "expected_calibration_error")
    cells = "".join(
        f"<tr><td>{n.replace('_', ' ')}</td><td>{metrics[n]:.4f}</td></tr>" for n in names
    )
    cells += "".join(
        f"<tr><td>top-{k} accuracy</td><td>{v:.4f}</td></tr>"
        for k, v in metrics["top_k_accuracy"].items()
    )
    return f"<table>{cells}<tr><td>images</td><td>{metrics['n_images']}</td></tr></table>"


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
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:limit]
    if len(wrong) == 0:
        return "<p>No mistakes on these images.</p>"
    cards = "".join(
        f"<figure>{_thumbnail(paths[i])}<figcaption>{html.escape(Path(paths[i]).name)}<br>"
        f"true: {html.escape(classes[labels[i]])}<br><span class=bad>predicted: "
        f"{html.escape(classes[predicted[i]])}</span> ({probs[i, predicted[i]]:.2f})"
        f"</figcaption></figure>"
        for i in wrong
    )
    return f'<div class="grid">{cards}</div>'


def build_report(title: str, metrics: dict, labels, probs, paths, history: list[dict]) -> str:
    """The HTML text; sections have stable ids so tools and tests can find them."""
    classes = metrics["classes"]
    labels, probs = np.asarray(labels), np.asarray(probs)
    pr_png, ap = plots.one_vs_rest_curves(labels, probs, classes, "pr")
    roc_png, auc = plots.one_vs_rest_curves(labels, probs, classes, "roc")
    curves = (
        _image(plots.training_curves(history), "training curves")
        if history
        else "<p>No training history in this run directory (evaluation only).</p>"
    )
    sections = [
        ("summary", "Summary", _summary(metrics)),
        ("training-curves", "Training curves", curves),
        (
            "confusion-matrix",
            "Confusion matrix",
            _image(
                plots.confusion_matrix(metrics["confusion_matrix"], classes), "confusion matrix"
            ),
        ),
        ("per-class", "Per-class metrics", _per_class(metrics, ap, auc)),
        ("pr-curves", "Precision-recall curves", _image(pr_png, "precision-recall curves")),
        ("roc-curves", "ROC curves", _image(roc_png, "ROC curves")),
        (
            "reliability",
            "Reliability diagram",
            f"<p>Expected calibration error {metrics['expected_calibration_error']:.4f}.</p>"
            + _image(plots.reliability_diagram(labels, probs), "reliability diagram"),
        ),
        (
            "worst-mistakes",
            "Worst mistakes (most confident wrong predictions)",
            _worst_mistakes(labels, probs, paths, classes),
        ),
    ]
    body = "".join(
        f'<section id="{sid}"><h2>{name}</h2>{content}</section>' for sid, name, content in sections
    )
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        f"</body></html>\n"
    )


def write_report(
    path: Path, title: str, metrics: dict, labels, probs, paths, history: list[dict]
) -> Path:
    write_text(path, build_report(title, metrics, labels, probs, paths, history))
    return path
