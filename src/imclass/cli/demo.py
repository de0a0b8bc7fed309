"""`imclass demo`: an offline end-to-end run on scikit-learn's handwritten digits."""

from __future__ import annotations

from pathlib import Path

import click

from imclass.cli.common import PATH, print_result, stdout, use_all_cores
from imclass.files import check_output


@click.command()
@click.option("--out", type=PATH, default=Path("demo-output"), show_default=True)
@click.option("--overwrite", is_flag=True, help="run again into an --out folder that exists")
def demo(out, overwrite):
    """Offline end-to-end run on scikit-learn's handwritten digits."""
    use_all_cores()
    from imclass.demo import run_demo

    check_output(out, [], overwrite=overwrite, kind="folder")
    result, predictions = run_demo(out)
    for path, ranked in predictions:
        stdout.print(f"predict {path}: {ranked[0][0]} ({ranked[0][1]:.3f})")
    print_result(result)
    stdout.print(f"demo accuracy: {result.metrics['accuracy']:.4f}")
