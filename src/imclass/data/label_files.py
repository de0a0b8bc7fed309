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
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from imclass.data.dataset import SPLIT_FOLDERS, DataSource, ImageSet, LabelOptions
from imclass.data.images import is_image_file
from imclass.errors import DataError

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
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio renames uploads "1a2b3c4d-x.jpg"


@dataclass(frozen=True)
class Row:
    where: str  # "line 7" or "task 3 (id 17)"
    image: str
    labels: tuple[str, ...]
    split: str = "all"


def read_label_file(path: Path, options: LabelOptions) -> DataSource:
    rows = read_rows(path, options)
    resolver = ImageResolver(path)
    found, notes = [], []
    seen: dict[Path, str] = {}
    for row in rows:
        if not row.labels:
            raise DataError(f"{path}: {row.where}: no labels for {row.image}")
        image = resolver.find(row.image)
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
    return _to_source(path, found, options, tuple(notes))


def read_rows(path: Path, options: LabelOptions) -> list[Row]:
    text = _utf8(path)
    if path.suffix.lower() == ".json":
        return label_studio_rows(path, text)
    header = text.splitlines()[0] if text.strip() else ""
    delimiter = "\t" if "\t" in header else ","
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    columns = [c.strip() for c in (records[0] if records else [])]
    if "IM_FILENAME" in columns:
        return _table_rows(path, records, ("IM_FILENAME", "LABELS"), ",", exclude="EXCLUDE")
    if "path" in columns:
        label_column = "labels" if "labels" in columns else "label"
        return _table_rows(
            path,
            records,
            ("path", label_column),
            options.delimiter or " " if label_column == "labels" else None,
            split="split",
        )
    if "filename" in columns:
        label_column = "label" if "label" in columns and "labels" not in columns else "labels"
        return _table_rows(path, records, ("filename", label_column), options.delimiter or " ")
    raise DataError(
        f"{path}: line 1: unknown columns ({', '.join(columns) or 'none'}); expected "
        "path,label[,split] or filename,labels or IM_FILENAME/EXCLUDE/LABELS"
    )


def _utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text (save the file as UTF-8)") from None


def _table_rows(path: Path, records, needed, delimiter, *, split=None, exclude=None) -> list[Row]:
    if not records:
        raise DataError(f"{path}: line 1: empty file")
    columns = [c.strip() for c in records[0]]
    missing = [c for c in (*needed, *([exclude] if exclude else [])) if c not in columns]
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    at = {name: columns.index(name) for name in columns}
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) < len(columns):
            raise DataError(f"{path}: line {number}: {len(record)} fields, expected {len(columns)}")
        if exclude and record[at[exclude]].strip().lower() in TRUE_WORDS:
            continue
        image, text = record[at[needed[0]]].strip(), record[at[needed[1]]].strip()
        if not image:
            raise DataError(f"{path}: line {number}: empty {needed[0]}")
        labels = tuple(
            t.strip() for t in (text.split(delimiter) if delimiter else [text]) if t.strip()
        )
        side = record[at[split]].strip().lower() if split and split in at else "all"
        rows.append(Row(f"line {number}", image, labels, SPLIT_FOLDERS.get(side, "all")))
    if not rows:
        raise DataError(f"{path}: no labelled rows")
    return rows


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
    anywhere below it (Label Studio URLs, with its upload prefix removed if need be)."""

    def __init__(self, label_file: Path):
        self.base = label_file.resolve().parent
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, name: str) -> Path | None:
        local = self._local_path(name)
        for candidate in (self.base / local, self.base / "images" / local):
            if candidate.is_file():
                return candidate
        if Path(local).is_absolute() and Path(local).is_file():
            return Path(local)
        base_name = Path(local).name
        matches = self.by_name.get(base_name) or self.by_name.get(_without_upload_prefix(base_name))
        return matches[0] if matches and len(matches) == 1 else None

    @staticmethod
    def _local_path(name: str) -> str:
        parsed = urlparse(name)
        if parsed.query and "d" in parse_qs(parsed.query):
            return unquote(parse_qs(parsed.query)["d"][0])
        return unquote(parsed.path) if parsed.scheme or name.startswith("/data/") else name

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


def _to_source(path: Path, found, options: LabelOptions, notes) -> DataSource:
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
    return DataSource(path, classes, splits, multilabel, notes)
