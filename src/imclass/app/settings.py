"""What one launch of the app works on and how it is reached: the data and its label file, the
run directories, and the address and access token every request is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_LABELS_NAME = "annotations.tsv"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a 12-megapixel JPEG is 3-8 MB; a RAW-sized PNG fits too


@dataclass(frozen=True)
class AppSettings:
    """data: a folder of images or a label file (None: no Label page); labels: the annotation
    file the app writes (default DATA/annotations.tsv); token: required by every request;
    host and port: where it listens, the only Host a request may name (with localhost)."""

    token: str
    data: Path | None = None
    labels: Path | None = None
    multilabel: bool = False
    classes: tuple[str, ...] = ()
    runs: tuple[Path, ...] = ()
    runs_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    max_upload_bytes: int = MAX_UPLOAD_BYTES

    @property
    def start_page(self) -> str:
        """Where the printed URL and / lead: Label with data, else Results with runs, else Live."""
        if self.data is not None:
            return "/label"
        return "/runs" if self.runs or self.runs_dir is not None else "/live"

    @property
    def labels_file(self) -> Path | None:
        """The annotation file: labels as given, else annotations.tsv in DATA's folder."""
        if self.labels is not None:
            return Path(self.labels).expanduser().absolute()
        if self.data is None:
            return None
        data = Path(self.data).expanduser().absolute()
        return (data.parent if data.is_file() else data) / DEFAULT_LABELS_NAME
