"""system.csv: the header written atomically, then one row per sample appended as one whole line.

Each row is a single append-mode write of a few hundred bytes, so the file grows by whole lines
and a kill loses at most the row being written; a reader trusts only lines that end in a
newline (a last line without one is still being written), as read_system_log does. Appending
rather than rewriting keeps a day-long run's log cheap (43,200 rows at one every 2 s).
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from imclass.files import write_text

TIME = "time"  # the first column: Unix time in seconds


class SystemLog:
    """Appends samples (column -> number) to path under a fixed header of TIME and columns."""

    def __init__(self, path: Path | str, columns: tuple[str, ...], *, keep: bool = False):
        """keep: append to the rows already there when the header is the same (a resumed
        run on the same machine); otherwise the file starts afresh."""
        self.path = Path(path)
        self.columns = (TIME, *columns)
        header = _line(self.columns)
        if not (keep and _first_line(self.path) == header):
            write_text(self.path, header)

    def append(self, row: dict[str, float]) -> None:
        line = _line([_cell(row.get(column, math.nan)) for column in self.columns])
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(descriptor, line.encode("utf-8"))
        finally:
            os.close(descriptor)


def read_system_log(path: Path | str) -> list[dict[str, float]]:
    """The rows as numbers (an empty cell, a reading that failed, is NaN); [] without a file.
    A line that is not whole or not numbers (a damaged file) is left out: the log only
    describes a run, nothing depends on it."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    rows = list(csv.reader(line for line in lines if line.endswith("\n")))
    if not rows:
        return []
    header, read = rows[0], []
    for row in rows[1:]:
        try:
            values = [float(cell) if cell else math.nan for cell in row]
        except ValueError:
            continue
        if len(values) == len(header):
            read.append(dict(zip(header, values, strict=True)))
    return read


def _line(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.1f}"


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline()
    except OSError:
        return ""
