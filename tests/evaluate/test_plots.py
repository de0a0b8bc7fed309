"""The report's figures: PNGs of the intended size, drawn without touching matplotlib's state."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
from PIL import Image

from imclass.evaluate import plots

HISTORY = [
    {"phase": phase, "train_loss": loss, "valid_loss": loss, "train_accuracy": acc}
    | {"valid_accuracy": acc}
    for phase, loss, acc in (("head", 1.0, 0.5), ("head", 0.6, 0.8), ("finetune", 0.3, 0.95))
]


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_figures_are_pngs_of_their_size_at_90_dpi():
    assert _size(plots.training_curves(HISTORY)) == (900, 324)
    assert _size(plots.confusion_matrix([[3, 1], [0, 4]], ["cat", "dog"])) == (360, 360)
    labels = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    png, areas = plots.one_vs_rest_curves(np.eye(2)[labels], probs, ["cat", "dog"], "roc")
    assert _size(png) == (540, 450)
    assert areas == {"cat": 1.0, "dog": 1.0, "micro-average": 0.9375}
    assert _size(plots.reliability_diagram(labels, probs, bins=5)) == (450, 450)


def test_the_machine_s_plot_has_a_panel_per_kind_of_reading():
    host = {"cpu_percent": 50.0, "memory_used_mb": 3e3, "process_memory_mb": 1e3}
    samples = [{"time": 1.7e9 + 2 * i, **host} for i in range(5)]
    assert _size(plots.system_usage(samples)) == (612, 288)  # CPU, memory
    gpu = {"disk_read_mb_s": 4.0, "gpu0_util_percent": 97.0, "gpu0_memory_used_mb": 4e4}
    samples = [{**sample, **gpu} for sample in samples]
    assert _size(plots.system_usage(samples)) == (1224, 288)  # and disk, GPU


def test_importing_and_drawing_leave_the_backend_and_pyplot_alone():
    script = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "from imclass.evaluate import plots; plots.confusion_matrix([[1]], ['a']); "
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert shown.stdout.split() == ["svg", "False"], shown.stderr
