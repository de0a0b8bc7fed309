"""The epoch-by-epoch record of training, stored in the run directory after every epoch."""

from __future__ import annotations

from imclass.models.run_dir import HISTORY_COLUMNS, RunDirectory


class History:
    def __init__(self, directory: RunDirectory):
        self.directory = directory
        self.rows: list[dict] = []

    def add(self, **row) -> dict:
        self.rows.append({column: row[column] for column in HISTORY_COLUMNS})
        self.directory.write_history(self.rows)
        return row

    def load(self) -> None:
        self.rows = self.directory.read_history()

    @staticmethod
    def describe(row: dict) -> str:
        return (
            f"{row['phase']:>8} epoch {row['epoch']:>3}  train loss {row['train_loss']:.3f} "
            f"acc {row['train_accuracy']:.3f}  valid loss {row['valid_loss']:.3f} "
            f"acc {row['valid_accuracy']:.3f}  lr {row['lr']:.2e}  {row['seconds']:.1f} s  "
            f"{row['images_per_s']:.1f} img/s"
        )
