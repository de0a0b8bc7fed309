"""The Results pages' JSON API: the runs this launch was given (--run, --runs-dir), one run's
figures, the images of a confusion-matrix cell or of a multi-label count, counts at other
thresholds, and the images themselves.

Only the given runs are reachable, by a URL-safe name made from their folder's; only images that
one of them lists in predictions.csv are served, named by the run and the row (the paths in it
may lie anywhere on disk: a path is never taken from a request).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from imclass.app.previews import preview
from imclass.app.settings import AppSettings
from imclass.data.images import UnreadableImage
from imclass.errors import ImclassError
from imclass.evaluate.label_errors import label_error_candidates
from imclass.evaluate.metrics import worst_mistakes
from imclass.evaluate.runs import (
    TOP,
    RunSummary,
    ScoredImage,
    confusion_cell,
    counts_at_thresholds,
    label_cell,
    list_runs,
    own_thresholds,
    run_is_multilabel,
)
from imclass.inference.predictor import top_k
from imclass.models.run_dir import Predictions, RunDirectory

router = APIRouter(prefix="/api/runs", tags=["runs"])
RUN_PAGE = Path(__file__).parent / "static" / "run.html"
SHOWN = 48  # worst mistakes and label-error candidates listed on a run's page


class RunRegistry:
    """The runs of one launch by name; the folders are listed again when the list is asked for
    (a run trained since shows up) or an unknown name is."""

    def __init__(self, settings: AppSettings):
        self.sources = [*settings.runs, *([settings.runs_dir] if settings.runs_dir else [])]
        self.summaries: dict[str, RunSummary] = {}
        self._predictions: dict[str, tuple[tuple[int, int], Predictions]] = {}

    def refresh(self) -> list[RunSummary]:
        summaries = list_runs(self.sources) if self.sources else []
        self.summaries = dict(
            zip(unique_names(s.path.name for s in summaries), summaries, strict=True)
        )
        return list(self.summaries.values())

    def summary(self, name: str) -> tuple[str, RunSummary]:
        if name not in self.summaries:
            self.refresh()
        if name not in self.summaries:
            raise HTTPException(404, "no such run")
        return name, self.summaries[name]

    def predictions(self, name: str) -> Predictions:
        """The run's predictions.csv, read again only when the file changed."""
        run = RunDirectory(self.summary(name)[1].path)
        try:
            info = os.stat(run.predictions_path)
            stamp = (info.st_mtime_ns, info.st_size)
            if name not in self._predictions or self._predictions[name][0] != stamp:
                self._predictions[name] = (stamp, run.read_predictions())
        except (OSError, ImclassError) as error:
            raise HTTPException(404, f"no predictions: {error}") from None
        return self._predictions[name][1]


def unique_names(folder_names) -> list[str]:
    """Each folder name made URL-safe (other characters become '-'), a repeat suffixed -2, -3."""
    names: list[str] = []
    for folder in folder_names:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", folder).strip("-.") or "run"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def _registry(request: Request) -> RunRegistry:
    return request.app.state.runs


@router.get("")
def runs(request: Request) -> dict:
    """Every run with its headline figures; a damaged one with its error."""
    registry = _registry(request)
    registry.refresh()
    return {"runs": [_summary_json(n, s) for n, s in registry.summaries.items()]}


@router.get("/{name}")
def run(request: Request, name: str) -> dict:
    """One run: its summary, metrics.json, history, worst mistakes, label-error candidates and
    (multi-label) its counts; each part that cannot be read says why instead."""
    registry = _registry(request)
    name, summary = registry.summary(name)
    folder = RunDirectory(summary.path)
    answer = _summary_json(name, summary)
    answer["errors"] = errors = {}
    answer["metrics_json"] = _part(errors, "metrics", folder.read_metrics)
    answer["history"] = _part(errors, "history", folder.read_history) or []
    predictions = _part(errors, "predictions", lambda: registry.predictions(name))
    answer["has_data"] = getattr(request.app.state, "catalog", None) is not None
    if predictions is None:
        return answer
    multilabel = bool(_part(errors, "kind", lambda: run_is_multilabel(folder)))
    answer["multilabel"] = multilabel
    answer["n_predictions"] = len(predictions)
    worst = _worst_mistakes(predictions, multilabel)
    answer["worst_mistakes"] = _images(request, predictions, worst)
    candidates = _part(errors, "label_errors", lambda: label_error_candidates(folder)) or []
    answer["label_errors"] = _candidates(request, predictions, candidates[:SHOWN])
    if multilabel:
        answer["counts"] = _part(errors, "counts", lambda: counts_at_thresholds(folder))
        answer["thresholds"] = _part(errors, "thresholds", lambda: _thresholds(folder, predictions))
    return answer


@router.get("/{name}/cell")
def cell(
    request: Request,
    name: str,
    true: str = Query(description="the images' label"),
    predicted: str = Query(description="the class the model chose"),
) -> dict:
    """The images of one confusion-matrix cell, the most confidently predicted first."""
    registry = _registry(request)
    folder, predictions = RunDirectory(registry.summary(name)[1].path), registry.predictions(name)
    found = _library(lambda: confusion_cell(folder, true, predicted, predictions=predictions))
    return {"images": _scored(request, predictions, found)}


@router.get("/{name}/counts")
def counts(request: Request, name: str, thresholds: str = Query("", examples=["0.5,0.3"])):
    """A multi-label run's tp, fp, fn, tn per label at thresholds (one, or one per label,
    comma-separated; empty: the run's own)."""
    registry = _registry(request)
    folder, predictions = RunDirectory(registry.summary(name)[1].path), registry.predictions(name)
    wanted = _numbers(thresholds)
    return {
        "counts": _library(lambda: counts_at_thresholds(folder, wanted, predictions=predictions))
    }


@router.get("/{name}/label-cell")
def images_of_count(
    request: Request,
    name: str,
    label: str,
    outcome: Literal["tp", "fp", "fn", "tn"],
    thresholds: str = "",
) -> dict:
    """The images behind one label's tp, fp, fn or tn at thresholds (see counts)."""
    registry = _registry(request)
    folder, predictions = RunDirectory(registry.summary(name)[1].path), registry.predictions(name)
    wanted = _numbers(thresholds)
    found = _library(lambda: label_cell(folder, label, outcome, wanted, predictions=predictions))
    return {"images": _scored(request, predictions, found)}


@router.get("/{name}/images/{row}")
def image(
    request: Request, name: str, row: int, size: Literal["display", "thumb"] = "thumb"
) -> FileResponse:
    """Row `row` of the run's predictions.csv as a cached JPEG; 404 for any other row."""
    predictions = _registry(request).predictions(name)
    if not 0 <= row < len(predictions):
        raise HTTPException(404, "no such image in this run")
    try:
        return FileResponse(preview(Path(predictions.paths[row]), size), media_type="image/jpeg")
    except OSError:
        raise HTTPException(404, "the image is no longer there") from None
    except UnreadableImage as error:
        raise HTTPException(422, f"cannot decode this image: {error}") from None


def run_page(request: Request, name: str) -> FileResponse:
    """The page of one run (/runs/{name}); 404 for a run this launch was not given."""
    _registry(request).summary(name)
    return FileResponse(RUN_PAGE, headers={"Cache-Control": "no-store"})


def _summary_json(name: str, summary: RunSummary) -> dict:
    fields = asdict(summary)
    fields |= {"name": name, "path": str(summary.path), "classes": list(summary.classes)}
    fields["date"] = summary.date.isoformat() if summary.date else None
    return fields


def _part(errors: dict, key: str, read):
    """read(), or None with the reason under errors[key]: one damaged file spoils one section."""
    try:
        return read()
    except HTTPException as error:
        errors[key] = error.detail
    except (ImclassError, OSError, ValueError, KeyError, TypeError) as error:
        errors[key] = str(error)
    return None


def _library(call):
    """call(), a bad class, outcome or threshold answered 400 with the library's message."""
    try:
        return call()
    except ImclassError as error:
        raise HTTPException(400, str(error)) from None


def _numbers(text: str):
    if not text.strip():
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise HTTPException(400, f"thresholds must be numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _thresholds(folder: RunDirectory, predictions: Predictions) -> list[float]:
    """One per label: those counts_at_thresholds decides at when given none."""
    own = np.broadcast_to(np.asarray(own_thresholds(folder), dtype=float), len(predictions.classes))
    return own.tolist()


def _worst_mistakes(predictions: Predictions, multilabel: bool) -> list[int]:
    """Rows whose decision differs from the label, the most confident first (single-label: in
    the wrong class; multi-label: about its most wrong label)."""
    if not multilabel:
        return worst_mistakes(predictions.label_indices(), predictions.probs, SHOWN).tolist()
    wrong = [row for row in range(len(predictions)) if _differs(predictions, row)]
    error = np.abs(predictions.label_matrix() - predictions.probs).max(axis=1)
    return sorted(wrong, key=lambda row: -error[row])[:SHOWN]


def _differs(predictions: Predictions, row: int) -> bool:
    return set(predictions.labels[row].split()) != set(predictions.predicted[row].split())


def _images(request: Request, predictions: Predictions, rows: list[int]) -> list[dict]:
    best = top_k(predictions.probs[rows], predictions.classes, TOP) if rows else []
    return [
        _card(
            request,
            row,
            predictions.paths[row],
            predictions.labels[row],
            predictions.predicted[row],
            top,
        )
        for row, top in zip(rows, best, strict=True)
    ]


def _scored(request: Request, predictions: Predictions, found: list[ScoredImage]) -> list[dict]:
    rows = _rows(predictions)
    return [_card(request, rows[s.path], s.path, s.label, s.predicted, s.top) for s in found]


def _candidates(request: Request, predictions: Predictions, found) -> list[dict]:
    rows = _rows(predictions)
    cards = []
    for c in found:
        row = rows[c.path]
        top = top_k(predictions.probs[[row]], predictions.classes, TOP)[0]
        card = _card(request, row, c.path, c.given, predictions.predicted[row], top)
        card |= {"suggested": c.suggested, "label": c.label, "margin": c.margin}
        cards.append(card)
    return cards


def _rows(predictions: Predictions) -> dict[str, int]:
    """Each path's first row: the row an image is served by."""
    rows: dict[str, int] = {}
    for row, path in enumerate(predictions.paths):
        rows.setdefault(path, row)
    return rows


def _card(request: Request, row: int, path: str, label: str, predicted: str, top) -> dict:
    link, reason = _label_link(request, path)
    return {
        "row": row,
        "path": path,
        "given": label,
        "predicted": predicted,
        "top": [[name, float(p)] for name, p in top],
        "label_page": link,
        "label_page_reason": reason,
    }


def _label_link(request: Request, path: str) -> tuple[str | None, str | None]:
    """The Label page's address for path, or why there is none (no DATA, or not inside it)."""
    catalog = getattr(request.app.state, "catalog", None)
    if catalog is None:
        return None, "the app was started without DATA: nothing to label"
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):
        return None, "the image cannot be found"
    name = real.relative_to(catalog.root).as_posix() if real.is_relative_to(catalog.root) else ""
    if name not in catalog.image_set:
        return None, f"not an image of the app's DATA ({catalog.root})"
    return "/label?" + urlencode({"path": name}), None
