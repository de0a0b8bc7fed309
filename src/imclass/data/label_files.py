"""Label files people already have, read into one DataSource shape.

- imclass split files: `path,label[s],split[,group]` (written by `imclass split`)
- labels.csv: `filename,labels`, labels separated by spaces (or --label-delimiter), images in
  an `images/` folder beside the file
- the classic annotation file: tab-separated `IM_FILENAME  EXCLUDE  LABELS`, labels joined by
  commas, rows with EXCLUDE = True dropped
- Label Studio exports of image classification, JSON and JSON-MIN (`Choices`, single/multiple)

Every problem names the file and the line (or task): missing column, unknown image, empty
labels, a row listed twice, text that is not UTF-8. Unknown images are skipped only with
--skip-missing, and then reported.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from imclass.data.dataset import SPLIT_FOLDERS, SPLIT_NAMES, DataSource, ImageSet, LabelOptions
from imclass.data.images import is_image_file
from imclass.errors import DataError, did_you_mean

TRUE_WORDS = {"true", "1", "yes", "y", "t"}
LABEL_STUDIO_META = {
    "id",
    "annotator",
    "annotation_id",
    "created_at",
    "updated_at",
    "lead_time",
    "drafts",
    "predictions",
    "meta",
}
LABEL_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".json")
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio renames uploads "1a2b3c4d-x.jpg"


@dataclass(frozen=True)
class Row:
    where: str  # "line 7" or "task 3 (id 17)"
    image: str
    labels: tuple[str, ...]
    split: str = "all"


def read_label_file(path: Path, options: LabelOptions) -> DataSource:
    rows = read_rows(path, options)
    resolver = ImageResolver(path, options.root)
    found, notes = [], []
    seen: dict[Path, str] = {}
    for row in rows:
        if not row.labels:
            raise DataError(f"{path}: {row.where}: no labels for {row.image}")
        image = resolver.find(row.image, f"{path}: {row.where}")
        if image is None:
            message = f"{path}: {row.where}: image {row.image} not found (looked in {path.parent})"
            if not options.skip_missing:
                raise DataError(message + "; --skip-missing loads the rest")
            notes.append(message + "; skipped")
            continue
        if image in seen:
            raise DataError(
                f"{path}: {row.where}: {row.image} is listed again (first at {seen[image]})"
            )
        seen[image] = row.where
        found.append((image, row))
    return _to_source(path, found, options, tuple(notes), resolver.root)


def read_rows(path: Path, options: LabelOptions) -> list[Row]:
    text = _utf8(path)
    if not text.strip():
        raise DataError(f"{path}: empty file; expected a header line such as filename,labels")
    if path.suffix.lower() == ".json":
        return label_studio_rows(path, text)
    header = text.splitlines()[0]
    records = list(csv.reader(io.StringIO(text), delimiter=_delimiter(header)))
    columns = [c.strip() for c in records[0]]
    layout = _table_layout(columns, options)
    if layout is None:
        raise DataError(
            f"{path}: line 1: unknown columns ({', '.join(columns) or 'none'}); expected "
            "path,label[,split] or filename,labels or IM_FILENAME/EXCLUDE/LABELS"
        )
    return _table_rows(path, records, layout)


def is_label_file(path: Path) -> bool:
    """Whether read_label_file would take path by its header (a Label Studio export: by its
    first task); how labels.csv beside images/ is told from any other file in a folder."""
    suffix = path.suffix.lower()
    if suffix not in LABEL_FILE_SUFFIXES or not path.is_file():
        return False
    if suffix == ".json":
        return _is_label_studio_export(path)
    with path.open(encoding="utf-8-sig", errors="replace") as file:
        header = file.readline()
    columns = [c.strip() for c in next(csv.reader([header], delimiter=_delimiter(header)), [])]
    layout = _table_layout(columns, LabelOptions())
    return layout is not None and all(c in columns for c in layout.needed)


def _delimiter(header: str) -> str:
    return "\t" if "\t" in header else ","


@dataclass(frozen=True)
class TableLayout:
    """Which columns of a table hold the image, its labels (split by delimiter, or one label
    when None), the split, and the exclusion flag."""

    image: str
    labels: str
    delimiter: str | None
    split: str | None = None
    exclude: str | None = None

    @property
    def needed(self) -> tuple[str, ...]:
        return (self.image, self.labels, *([self.exclude] if self.exclude else []))


def _table_layout(columns: list[str], options: LabelOptions) -> TableLayout | None:
    """The layout a header announces: annotation file, split file or labels.csv; None if none."""
    if "IM_FILENAME" in columns:
        return TableLayout("IM_FILENAME", "LABELS", ",", exclude="EXCLUDE")
    if "path" in columns:
        many = "labels" in columns
        return TableLayout(
            "path",
            "labels" if many else "label",
            (options.delimiter or " ") if many else None,
            split="split",
        )
    if "filename" in columns:
        label_column = "label" if "label" in columns and "labels" not in columns else "labels"
        return TableLayout("filename", label_column, options.delimiter or " ")
    return None


def _utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text (save the file as UTF-8)") from None


def _table_rows(path: Path, records, layout: TableLayout) -> list[Row]:
    columns = [c.strip() for c in records[0]]
    missing = [c for c in layout.needed if c not in columns]
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    at = {name: columns.index(name) for name in columns}
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(columns):
            raise DataError(f"{path}: line {number}: {len(record)} fields, expected {len(columns)}")
        if layout.exclude and record[at[layout.exclude]].strip().lower() in TRUE_WORDS:
            continue
        image, text = record[at[layout.image]].strip(), record[at[layout.labels]].strip()
        if not image:
            raise DataError(f"{path}: line {number}: empty {layout.image}")
        pieces = text.split(layout.delimiter) if layout.delimiter else [text]
        labels = tuple(t.strip() for t in pieces if t.strip())
        where = f"line {number}"
        side = _split_value(path, where, record[at[layout.split]]) if layout.split in at else "all"
        rows.append(Row(where, image, labels, side))
    if not rows:
        raise DataError(f"{path}: no labelled rows")
    return rows


def _split_value(path: Path, where: str, value: str) -> str:
    """train, valid or test from a split column (val and validation mean valid)."""
    name = value.strip()
    split = SPLIT_FOLDERS.get(name.lower())
    if split is None:
        raise DataError(
            f"{path}: {where}: unknown split {name!r}; expected {SPLIT_NAMES}."
            + did_you_mean(name.lower(), SPLIT_FOLDERS)
        )
    return split


def _is_label_studio_export(path: Path) -> bool:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:  # not JSON, or not UTF-8
        return False
    if not (isinstance(tasks, list) and tasks and isinstance(tasks[0], dict)):
        return False
    data = tasks[0].get("data", tasks[0])
    try:
        return isinstance(data, dict) and bool(_image_field(path, "task 1", data))
    except DataError:
        return False


def label_studio_rows(path: Path, text: str) -> list[Row]:
    """Tasks of a Label Studio export (JSON, or JSON-MIN) with their chosen classes."""
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(tasks, list):
        raise DataError(f"{path}: expected a list of Label Studio tasks")
    rows = []
    for number, task in enumerate(tasks, start=1):
        where = f"task {number}" + (
            f" (id {task['id']})" if isinstance(task, dict) and "id" in task else ""
        )
        if not isinstance(task, dict):
            raise DataError(f"{path}: {where}: not a task object")
        image, labels = (
            _full_task(path, where, task) if "data" in task else _min_task(path, where, task)
        )
        if labels is not None:
            rows.append(Row(where, image, labels))
    if not rows:
        raise DataError(f"{path}: no labelled tasks")
    return rows


def _full_task(path: Path, where: str, task: dict):
    image = _image_field(path, where, task["data"])
    done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    if not done:
        return image, None  # not labelled yet: nothing to train on
    labels = [
        c
        for result in done[-1].get("result", [])
        if result.get("type") == "choices"
        for c in result.get("value", {}).get("choices", [])
    ]
    return image, tuple(labels)


def _min_task(path: Path, where: str, task: dict):
    image = _image_field(path, where, task)
    fields = {k: v for k, v in task.items() if k not in LABEL_STUDIO_META and v != image}
    choices = [k for k, v in fields.items() if isinstance(v, dict) and "choices" in v]
    singles = [k for k, v in fields.items() if isinstance(v, str)]
    if len(choices) + len(singles) != 1:
        raise DataError(
            f"{path}: {where}: cannot tell which field holds the classes "
            f"({', '.join(fields) or 'none'})"
        )
    value = fields[(choices or singles)[0]]
    return image, tuple(value["choices"]) if isinstance(value, dict) else (value,)


def _image_field(path: Path, where: str, data: dict) -> str:
    if isinstance(data.get("image"), str):
        return data["image"]
    urls = [
        v
        for v in data.values()
        if isinstance(v, str) and is_image_file(Path(urlparse(v).path or v))
    ]
    if len(urls) != 1:
        raise DataError(f"{path}: {where}: no image field found")
    return urls[0]


class ImageResolver:
    """Finds the file a row names: relative to the label file, in images/ beside it, or by name
    anywhere below it (Label Studio URLs, with its upload prefix removed if need be).

    Every file found must be inside the data root (the label file's folder unless one is
    given), by its written path and with links resolved: a row naming `../../etc/passwd`, an
    absolute path elsewhere or a link that leads out is an error, never data to read or move.
    """

    def __init__(self, label_file: Path, root: Path | None = None):
        self.base = label_file.resolve().parent
        self.root = Path(root).expanduser().resolve() if root is not None else self.base
        if not self.root.is_dir():
            raise DataError(f"--root {root}: not a folder; give the folder the images are in")
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, name: str, where: str) -> Path | None:
        """The image name stands for, as a path under root; None when there is none. where
        ("labels.csv: line 7") starts the error for a name that leads outside the root."""
        local, is_url = self._local_path(name)
        written = self.base / local
        if not is_url and not self._written_inside(written):  # a URL is looked up by name
            raise DataError(f"{where}: {name} is outside the data set {self.root}{self._hint}")
        for candidate in filter(self._written_inside, (written, self.base / "images" / local)):
            if candidate.is_file():
                return self._inside(candidate, name, where)
        base_name = Path(local).name
        matches = self.by_name.get(base_name) or self.by_name.get(_without_upload_prefix(base_name))
        if matches and len(matches) == 1:
            return self._inside(matches[0], name, where)
        return None

    def _written_inside(self, candidate: Path) -> bool:
        return Path(os.path.normpath(candidate)).is_relative_to(self.root)

    def _inside(self, candidate: Path, name: str, where: str) -> Path:
        """candidate as a path under root: as written when it is one (a linked folder inside
        the data set keeps its name), else its real path."""
        real = candidate.resolve()
        if not real.is_relative_to(self.root):
            raise DataError(
                f"{where}: {name} is a link to {real}, outside the data set {self.root}{self._hint}"
            )
        if ".." not in candidate.parts and candidate.is_relative_to(self.root):
            return candidate
        return real

    @property
    def _hint(self) -> str:
        return "; only images inside it are read (--root DIR names another data root)"

    @staticmethod
    def _local_path(name: str) -> tuple[str, bool]:
        """The file path a row names, and whether it came from a Label Studio URL."""
        parsed = urlparse(name)
        if parsed.query and "d" in parse_qs(parsed.query):
            return unquote(parse_qs(parsed.query)["d"][0]), False
        if parsed.scheme or name.startswith("/data/"):
            return unquote(parsed.path), True
        return name, False

    @property
    def by_name(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            self._by_name = {}
            for file in self.base.rglob("*"):
                if file.is_file() and is_image_file(file):
                    self._by_name.setdefault(file.name, []).append(file)
        return self._by_name


def _without_upload_prefix(name: str) -> str:
    match = UPLOAD_PREFIX.match(name)
    return match.group(1) if match else name


def _to_source(path: Path, found, options: LabelOptions, notes, root: Path) -> DataSource:
    classes = tuple(sorted({label for _, row in found for label in row.labels}))
    if len(classes) < 2:
        raise DataError(f"{path}: only {len(classes)} class(es); a classifier needs at least two")
    multilabel = options.multilabel
    if multilabel is None:
        multilabel = any(len(row.labels) > 1 for _, row in found)
    if not multilabel:
        several = next((row for _, row in found if len(row.labels) > 1), None)
        if several:
            raise DataError(
                f"{path}: {several.where}: {len(several.labels)} labels in a single-label data set"
            )
    index = {name: i for i, name in enumerate(classes)}
    grouped: dict[str, list] = {}
    for image, row in found:
        ids = tuple(sorted(index[label] for label in set(row.labels)))
        grouped.setdefault(row.split, []).append((image, ids if multilabel else ids[0]))
    splits = {
        split: ImageSet(tuple(p for p, _ in pairs), tuple(t for _, t in pairs))
        for split, pairs in grouped.items()
    }
    return DataSource(path, classes, splits, multilabel, notes, root)
