"""history.csv: one row per epoch, rewritten atomically after each so a kill loses nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from imclass.files import write_text

COLUMNS = (
    "phase",
    "epoch",
    "train_loss",
    "train_accuracy",
    "valid_loss",
    "valid_accuracy",
    "lr",
    "seconds",
    "images_per_s",
)
HISTORY_FILE = "history.csv"


class History:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / HISTORY_FILE
        self.rows: list[dict] = []

    def add(self, **row) -> dict:
        self.rows.append({column: row[column] for column in COLUMNS})
        self._write()
        return row

    def load(self) -> None:
        self.rows = read_history(self.path)

    def _write(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
        write_text(self.path, buffer.getvalue())

    @staticmethod
    def describe(row: dict) -> str:
        return (
            f"{row['phase']:>8} epoch {row['epoch']:>3}  train loss {row['train_loss']:.3f} "
            f"acc {row['train_accuracy']:.3f}  valid loss {row['valid_loss']:.3f} "
            f"acc {row['valid_accuracy']:.3f}  lr {row['lr']:.2e}  {row['seconds']:.1f} s  "
            f"{row['images_per_s']:.1f} img/s"
        )


def read_history(path: Path) -> list[dict]:
    """The rows of a history.csv with numbers as numbers; [] when there is none."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        {k: (v if k == "phase" else int(v) if k == "epoch" else float(v)) for k, v in row.items()}
        for row in rows
    ]
