"""The report's figures, each returned as PNG bytes.

matplotlib's object API with its Agg canvas: no pyplot state, and the process's backend (a
notebook's, say) is left as it is.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn import metrics as skm

from imclass.evaluate.metrics import reliability_bins


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global state, safe in threads."""
    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (laid out tight, 90 dpi), for a file or an HTML data URI."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def training_curves(history: list[dict]) -> bytes:
    figure = new_figure((10, 3.6))
    loss_ax, acc_ax = figure.subplots(1, 2)
    x = np.arange(1, len(history) + 1)
    for key, label in (("train", "train"), ("valid", "validation")):
        loss_ax.plot(x, [r[f"{key}_loss"] for r in history], label=label)
        acc_ax.plot(x, [r[f"{key}_accuracy"] for r in history], label=label)
    first_finetune = next((i for i, r in enumerate(history) if r["phase"] == "finetune"), None)
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        if first_finetune is not None:
            ax.axvline(
                first_finetune + 0.5, color="grey", linestyle=":", label="fine-tuning starts"
            )
        ax.set_xlabel("epoch (head phase, then fine-tuning)")
        ax.set_ylabel(name)
        ax.legend()
    return png_bytes(figure)


def system_usage(samples: list[dict]) -> bytes:
    """system.csv over time: the machine's CPU, memory, disk reads and each GPU's utilisation,
    one panel each (the disk and GPU panels only when the file has those columns)."""
    minutes = (np.array([s["time"] for s in samples]) - samples[0]["time"]) / 60
    gpus = sorted({c.split("_")[0] for c in samples[0] if c.startswith("gpu")})
    panels = [
        (
            "CPU %",
            [
                ("machine, of all cores", "cpu_percent"),
                ("imclass, of one core", "process_cpu_percent"),
            ],
        ),
        (
            "memory (GB)",
            [("machine", "memory_used_mb"), ("imclass", "process_memory_mb")]
            + [(f"{gpu}", f"{gpu}_memory_used_mb") for gpu in gpus],
        ),
    ]
    if "disk_read_mb_s" in samples[0]:
        panels.append(("disk reads (MB/s)", [("machine", "disk_read_mb_s")]))
    if gpus:
        panels.append(("GPU utilisation %", [(gpu, f"{gpu}_util_percent") for gpu in gpus]))
    figure = new_figure((3.4 * len(panels), 3.2))
    for ax, (name, lines) in zip(
        np.atleast_1d(figure.subplots(1, len(panels))), panels, strict=True
    ):
        for label, column in lines:
            scale = 1e-3 if column.endswith("_mb") else 1.0  # MB -> GB
            values = [s.get(column, float("nan")) * scale for s in samples]
            ax.plot(minutes, values, label=label)
        ax.set_xlabel("minutes")
        ax.set_ylabel(name)
        ax.set_ylim(bottom=0)
        if len(lines) > 1:
            ax.legend(fontsize="small")
    return png_bytes(figure)


def confusion_matrix(matrix, classes) -> bytes:
    matrix = np.asarray(matrix)
    size = max(4.0, 0.5 * len(classes) + 2)
    figure = new_figure((size, size))
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            color="white" if count > matrix.max() / 2 else "black",
        )
    return png_bytes(figure)


def one_vs_rest_curves(onehot, probs, classes, kind: str) -> tuple[bytes, dict]:
    """PR ('pr') or ROC ('roc') curves per class and micro-averaged; returns PNG and areas.

    onehot: (N, C) 0/1 truth, one-hot for single-label data, multi-hot for multi-label."""
    figure = new_figure((6, 5))
    ax = figure.subplots()
    areas = {}
    columns = [(name, onehot[:, i], probs[:, i]) for i, name in enumerate(classes)]
    columns.append(("micro-average", onehot.ravel(), probs.ravel()))
    for name, truth, score in columns:
        if truth.sum() == 0 or truth.sum() == len(truth):
            continue
        if kind == "pr":
            precision, recall, _ = skm.precision_recall_curve(truth, score)
            areas[name] = float(skm.average_precision_score(truth, score))
            ax.plot(recall, precision, label=f"{name} (AP {areas[name]:.3f})", **_style(name))
        else:
            fpr, tpr, _ = skm.roc_curve(truth, score)
            areas[name] = float(skm.roc_auc_score(truth, score))
            ax.plot(fpr, tpr, label=f"{name} (AUC {areas[name]:.3f})", **_style(name))
    ax.set_xlabel("recall" if kind == "pr" else "false positive rate")
    ax.set_ylabel("precision" if kind == "pr" else "true positive rate")
    ax.legend(fontsize="small")
    return png_bytes(figure), areas


def _style(name: str) -> dict:
    """The micro-average stands out from the per-class lines."""
    return {"color": "black", "linestyle": "--"} if name == "micro-average" else {}


def reliability_diagram(labels, probs, bins: int = 15) -> bytes:
    accuracy, confidence, count = reliability_bins(labels, probs, bins)
    centres = (np.arange(bins) + 0.5) / bins
    figure = new_figure((5, 5))
    ax = figure.subplots()
    filled = count > 0
    ax.bar(centres[filled], accuracy[filled], width=1 / bins, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(confidence[filled], accuracy[filled], "o", color="red", label="mean confidence")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend()
    return png_bytes(figure)


def threshold_curves(curves: dict[str, list[float]], chosen) -> bytes:
    """Each multi-label metric against one global threshold; the chosen thresholds marked."""
    figure = new_figure((7, 4))
    ax = figure.subplots()
    for name in ("exact_match", "hamming_accuracy", "micro_f1"):
        ax.plot(curves["threshold"], curves[name], label=name.replace("_", " "))
    for value in sorted(set(chosen)):
        ax.axvline(value, color="grey", linestyle=":")
    ax.set_xlabel("threshold on probability (dotted: the thresholds in use)")
    ax.set_ylabel("score")
    ax.legend()
    return png_bytes(figure)
