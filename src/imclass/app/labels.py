"""The labels the app edits, kept so that no acknowledged label is ever lost.

The labels live in the classic annotation file `imclass train` reads (tab-separated
`IM_FILENAME  EXCLUDE  LABELS`, labels joined by commas). Every change is first appended to a
journal beside it (`FILE.journal`, one JSON object a line) and fsynced; only then is the TSV
rewritten atomically and the change acknowledged. A change sets one image's whole state, so
replaying the journal over the TSV is idempotent: on open, the TSV is read, the journal
replayed over it, and both written afresh (the TSV fsynced before the journal is cut back).

Two tabs never overwrite each other's work: a change names one image, never the whole file;
for one image the last write wins, and the answer says when it replaced a change the writer
had not seen. Undo is a change too: it puts back the state an earlier change replaced.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from imclass.data.label_files import TRUE_WORDS
from imclass.errors import ConfigError, DataError, did_you_mean
from imclass.files import write_text

HEADER = ("IM_FILENAME", "EXCLUDE", "LABELS")
LABEL_DELIMITER = ","  # between labels in the LABELS column, as label_files reads it
FORBIDDEN_IN_CLASS = (LABEL_DELIMITER, "\t", "\n", "\r")


class ChangeConflict(ConfigError):
    """An undo of a change that a later change to the same image has replaced."""


@dataclass(frozen=True)
class ImageLabel:
    """One image's state: its classes, whether it is excluded (ambiguous), and the number of
    the change that set it (0: as read from the TSV or the data)."""

    labels: tuple[str, ...] = ()
    exclude: bool = False
    version: int = 0

    @property
    def status(self) -> str:
        """'excluded', 'labelled' or 'left' (nothing yet)."""
        if self.exclude:
            return "excluded"
        return "labelled" if self.labels else "left"

    def as_json(self) -> dict:
        return {"labels": list(self.labels), "exclude": self.exclude, "version": self.version}


@dataclass(frozen=True)
class Change:
    """What one write did: its number, the image, the state before and after, and whether it
    replaced a change the writer had not seen (another tab's)."""

    seq: int
    image: str
    before: ImageLabel
    after: ImageLabel
    replaced_unseen: bool = False


@dataclass
class LabelState:
    """Everything the journal and the TSV hold: classes in key order, per-image labels, and
    the TSV rows that name images outside the data folder (kept as they are)."""

    classes: list[str] = field(default_factory=list)
    images: dict[str, ImageLabel] = field(default_factory=dict)
    foreign_rows: list[list[str]] = field(default_factory=list)
    multilabel: bool = False
    seq: int = 0


class LabelStore:
    """The labels of the images under root, stored in tsv (and tsv + '.journal').

    `initial` (image -> classes, e.g. from class folders) and `classes` seed a TSV that does
    not exist yet; once it exists, the TSV and journal are the whole truth.
    """

    def __init__(
        self,
        tsv: Path,
        root: Path,
        *,
        initial: Mapping[str, tuple[str, ...]] | None = None,
        classes: Iterable[str] = (),
        multilabel: bool = False,
    ):
        self.tsv = Path(tsv)
        self.journal = self.tsv.with_name(self.tsv.name + ".journal")
        self.root = Path(root)
        self._lock = threading.Lock()
        self._history: dict[int, Change] = {}
        self.state = self._open(initial or {}, classes, multilabel)

    # reading -----------------------------------------------------------------------------------

    def _open(self, initial, classes, multilabel) -> LabelState:
        exists = self.tsv.exists() or self.journal.exists()
        state = LabelState(multilabel=multilabel)
        if self.tsv.exists():
            self._read_tsv(state)
        else:
            state.images = {name: ImageLabel(tuple(labels)) for name, labels in initial.items()}
        self._replay_journal(state)
        for name in list(classes) + [c for image in state.images.values() for c in image.labels]:
            if name not in state.classes:
                state.classes.append(_valid_class(name))
        state.multilabel = state.multilabel or any(
            len(image.labels) > 1 for image in state.images.values()
        )
        if exists:  # an app that only looked at a folder leaves nothing behind in it
            self._compact(state)
        return state

    def _read_tsv(self, state: LabelState) -> None:
        text = self.tsv.read_text(encoding="utf-8-sig", errors="surrogateescape")
        records = list(csv.reader(io.StringIO(text), delimiter="\t"))
        columns = [c.strip() for c in records[0]] if records else []
        if "IM_FILENAME" not in columns or "LABELS" not in columns:
            raise DataError(
                f"{self.tsv}: line 1: not an annotation file (expected the columns "
                f"{' '.join(HEADER)}); give another --labels file"
            )
        at = {name: columns.index(name) for name in columns}
        for number, record in enumerate(records[1:], start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) < len(columns):
                raise DataError(f"{self.tsv}: line {number}: {len(record)} fields, expected 3")
            written = record[at["IM_FILENAME"]].strip()
            labels = tuple(
                t.strip() for t in record[at["LABELS"]].split(LABEL_DELIMITER) if t.strip()
            )
            exclude = "EXCLUDE" in at and record[at["EXCLUDE"]].strip().lower() in TRUE_WORDS
            name = self._from_tsv_name(written)
            if name is None:
                state.foreign_rows.append([written, str(exclude), LABEL_DELIMITER.join(labels)])
            else:
                state.images[name] = ImageLabel(labels, exclude)

    def _replay_journal(self, state: LabelState) -> None:
        if not self.journal.exists():
            return
        lines = self.journal.read_bytes().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines):  # a write cut short by a kill: never acknowledged
                    break
                raise DataError(
                    f"{self.journal}: line {number}: not a journal entry; move the file away "
                    f"to start from {self.tsv.name} alone"
                ) from None
            _apply_entry(state, entry)

    # writing -----------------------------------------------------------------------------------

    def set_labels(
        self, image: str, labels: Iterable[str], *, exclude: bool = False, seen: int | None = None
    ) -> Change:
        """Give image these classes (and exclusion flag); seen is the version the writer saw."""
        labels = tuple(dict.fromkeys(labels))
        with self._lock:
            self._check_labels(labels)
            before = self.state.images.get(image, ImageLabel())
            change = self._write(image, before, labels, exclude, {"seen": seen})
            replaced = seen is not None and seen != before.version
            change = Change(change.seq, image, before, change.after, replaced)
            self._history[change.seq] = change
            return change

    def undo(self, seq: int) -> Change:
        """Put back what change seq replaced, if the image still holds what seq gave it (undoing
        a tab's changes one after another walks back through them)."""
        with self._lock:
            done = self._history.get(seq)
            if done is None:
                raise ChangeConflict(f"change {seq} is not one of this session's; nothing undone")
            now = self.state.images.get(done.image, ImageLabel())
            if (now.labels, now.exclude) != (done.after.labels, done.after.exclude):
                raise ChangeConflict(
                    f"{done.image} was changed again (change {now.version}) after change {seq}; "
                    "undo that one first"
                )
            old = done.before
            change = self._write(done.image, now, old.labels, old.exclude, {"undo": seq})
            del self._history[seq]
            return change

    def add_class(self, name: str) -> list[str]:
        name = _valid_class(name)
        with self._lock:
            if name not in self.state.classes:
                entry = {"seq": self.state.seq + 1, "class": name}
                self._append(entry)
                _apply_entry(self.state, entry)
                self._write_tsv(self.state)  # from now on the TSV, not the folders, holds labels
            return list(self.state.classes)

    def _check_labels(self, labels: tuple[str, ...]) -> None:
        for label in labels:
            if label not in self.state.classes:
                raise ConfigError(
                    f"unknown class {label!r}; the classes are {', '.join(self.state.classes)} "
                    "(add it first)" + did_you_mean(label, self.state.classes)
                )
        if len(labels) > 1 and not self.state.multilabel:
            raise ConfigError(
                f"{len(labels)} classes for one image in a single-label data set "
                "(start the app with --multilabel for several)"
            )

    def _write(self, image, before, labels, exclude, extra) -> Change:
        seq = self.state.seq + 1
        entry = {"seq": seq, "image": image, "labels": list(labels), "exclude": exclude}
        entry["before"] = {"labels": list(before.labels), "exclude": before.exclude}
        self._append(entry | extra)
        _apply_entry(self.state, entry)
        self._write_tsv(self.state)
        return Change(seq, image, before, self.state.images[image])

    def _append(self, entry: dict) -> None:
        """One line, on disk (fsynced) before anyone is told the change is saved. A new journal
        starts with the classes in key order and the kind of labels, which the TSV cannot hold."""
        created = not self.journal.exists()
        lines = [self._head(self.state), entry] if created else [entry]
        data = "".join(json.dumps(line, ensure_ascii=True) + "\n" for line in lines)
        with open(self.journal, "ab") as journal:
            journal.write(data.encode("ascii"))
            journal.flush()
            os.fsync(journal.fileno())
        if created:
            _fsync_folder(self.journal.parent)

    def _write_tsv(self, state: LabelState) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        for name in sorted(state.images):
            image = state.images[name]
            if image.labels or image.exclude:
                labels = LABEL_DELIMITER.join(image.labels)
                writer.writerow([self._tsv_name(name), str(image.exclude), labels])
        writer.writerows(state.foreign_rows)
        write_text(self.tsv, buffer.getvalue())

    def _compact(self, state: LabelState) -> None:
        """The TSV with every change in it, durably; then a journal holding only the classes."""
        self._write_tsv(state)
        with open(self.tsv, "rb") as tsv:
            os.fsync(tsv.fileno())
        _fsync_folder(self.tsv.parent)
        write_text(self.journal, json.dumps(self._head(state), ensure_ascii=True) + "\n")
        with open(self.journal, "rb") as journal:
            os.fsync(journal.fileno())
        _fsync_folder(self.journal.parent)

    @staticmethod
    def _head(state: LabelState) -> dict:
        return {"seq": state.seq, "classes": state.classes, "multilabel": state.multilabel}

    # names -------------------------------------------------------------------------------------

    def _tsv_name(self, name: str) -> str:
        """The image as the TSV names it: relative to the TSV's folder."""
        return Path(os.path.relpath(self.root / name, self.tsv.parent)).as_posix()

    def _from_tsv_name(self, written: str) -> str | None:
        """The image a TSV row names, relative to root; None when outside root."""
        relative = os.path.relpath(os.path.normpath(self.tsv.parent / written), self.root)
        if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
            return None
        return Path(relative).as_posix()

    # reading the state ----------------------------------------------------------------------------

    @property
    def multilabel(self) -> bool:
        return self.state.multilabel

    def snapshot(self) -> tuple[list[str], dict[str, ImageLabel], int]:
        with self._lock:
            return list(self.state.classes), dict(self.state.images), self.state.seq

    def progress(self, images: Iterable[str]) -> dict:
        """Counts over the given images: labelled, excluded, left, and images per class."""
        counts = {"labelled": 0, "excluded": 0, "left": 0}
        with self._lock:
            per_class = dict.fromkeys(self.state.classes, 0)
            for name in images:
                image = self.state.images.get(name, ImageLabel())
                counts[image.status] += 1
                if image.status == "labelled":
                    for label in image.labels:
                        per_class[label] = per_class.get(label, 0) + 1
        return counts | {"per_class": per_class}


def _apply_entry(state: LabelState, entry: dict) -> None:
    state.seq = max(state.seq, int(entry.get("seq", 0)))
    for name in entry.get("classes", []):
        if name not in state.classes:
            state.classes.append(name)
    if "classes" in entry:
        state.multilabel = state.multilabel or bool(entry.get("multilabel"))
    if "class" in entry and entry["class"] not in state.classes:
        state.classes.append(entry["class"])
    if "image" in entry:
        labels = tuple(entry["labels"])
        state.images[entry["image"]] = ImageLabel(labels, bool(entry["exclude"]), entry["seq"])
        state.multilabel = state.multilabel or len(labels) > 1


def _valid_class(name: str) -> str:
    cleaned = str(name).strip()
    if not cleaned or any(c in cleaned for c in FORBIDDEN_IN_CLASS) or len(cleaned) > 100:
        raise ConfigError(
            f"The class name {name!r} is not allowed: give 1 to 100 characters, without commas, "
            "tabs or line breaks (the annotation file separates classes with commas)."
        )
    return cleaned


def _fsync_folder(folder: Path) -> None:
    """A new or renamed file's folder entry survives a crash only once the folder is synced."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
