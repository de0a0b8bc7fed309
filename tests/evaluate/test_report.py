import re

import numpy as np
from tests.helpers import make_image_folder

from imclass.evaluate.evaluator import write_evaluation
from imclass.models.run_dir import RunDirectory

SECTIONS = (
    "summary",
    "training-curves",
    "confusion-matrix",
    "per-class",
    "pr-curves",
    "roc-curves",
    "reliability",
    "worst-mistakes",
)


def test_report_is_one_self_contained_file_with_every_section(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue", "green"), per_class=4)
    paths = sorted(data.glob("*/*.png"))
    labels = np.array([["blue", "green", "red"].index(p.parent.name) for p in paths])
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=len(paths))
    history = [
        {
            "phase": ph,
            "epoch": e,
            "train_loss": 1 / e,
            "train_accuracy": 0.5,
            "valid_loss": 1 / e,
            "valid_accuracy": 0.6,
        }
        for ph, e in (("head", 1), ("head", 2), ("finetune", 1))
    ]
    out = RunDirectory(tmp_path / "out")
    metrics = write_evaluation(out, "t", labels, probs, paths, ["blue", "green", "red"], history)
    text = out.report_path.read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in text
    without_inlined = re.sub(r'"data:[^"]*"', '""', text)
    assert not re.search(r"https?:|//[a-z]|<link|<script", without_inlined)  # nothing external
    assert not re.search(r'src="(?!data:)', text)  # every image inlined
    wrong = int((probs.argmax(1) != labels).sum())
    assert text.count("<figure>") == min(wrong, 24)
    assert out.read_metrics() == metrics and metrics["n_images"] == 12


def test_a_run_with_system_csv_gets_a_plot_of_the_machine(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    paths = sorted(data.glob("*/*.png"))
    labels = np.array([["blue", "red"].index(p.parent.name) for p in paths])
    probs = np.eye(2)[labels] * 0.8 + 0.1
    host = {"cpu_percent": 50.0, "memory_used_mb": 3e3, "process_memory_mb": 1e3}
    system = [{"time": 1.7e9 + 30 * i, **host} for i in range(5)]
    out = RunDirectory(tmp_path / "out")
    write_evaluation(out, "t", labels, probs, paths, ["blue", "red"], [], system=system)
    text = out.report_path.read_text()
    assert 'id="system"' in text and "5 samples over 2.0 minutes" in text
    write_evaluation(out, "t", labels, probs, paths, ["blue", "red"], [])
    assert 'id="system"' not in out.report_path.read_text()


def test_both_reports_summarise_with_one_table_of_figures():
    from imclass.evaluate.html_parts import figures_table

    table = figures_table({"exact_match": 0.8, "top-3 accuracy": 1.0, "<b>": 0.5}, 12)
    assert "<tr><td>exact match</td><td>0.8000</td></tr>" in table
    assert "<tr><td>top-3 accuracy</td><td>1.0000</td></tr>" in table
    assert "&lt;b&gt;" in table and "<b>" not in table  # names are escaped
    assert table.endswith("<tr><td>images</td><td>12</td></tr></table>")
