"""The Label page's JSON API: the images and their labels, the image files (original,
display-size copy, thumbnail), one image's labels written at a time, undo, classes, progress,
the collected images' sources, and the model's suggestions when the app was given a run.

Every write answers only after the change is on disk (see imclass.app.labels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from imclass.app.catalog import Catalog
from imclass.app.labels import ChangeConflict, ImageLabel, LabelStore
from imclass.app.previews import preview
from imclass.collect.manifest import Row
from imclass.data.images import UnreadableImage
from imclass.errors import ConfigError

if TYPE_CHECKING:  # torch: only an app with a run imports it
    from imclass.app.suggestions import Suggester

router = APIRouter(prefix="/api", tags=["label"])


class LabelWrite(BaseModel):
    image: str = Field(description="the image's path relative to the data folder")
    labels: list[str] = Field(default_factory=list, description="its classes ([] for none)")
    exclude: bool = Field(False, description="ambiguous: left out of training")
    seen: int | None = Field(None, description="the image's version the writer last saw")


class UndoRequest(BaseModel):
    seq: int = Field(description="the number of this tab's change to undo")


class NewClass(BaseModel):
    name: str


def _parts(request: Request) -> tuple[Catalog, LabelStore]:
    return request.app.state.catalog, request.app.state.labels


@router.get("/images")
def list_images(request: Request, order: Literal["name", "uncertain"] = "name") -> dict:
    """Every image with its labels, the classes in key order, and the progress counts. Order
    "uncertain": the unlabelled images the model is least sure of first (the lowest top
    probability among those predicted so far), then the other unlabelled, then the rest."""
    catalog, store = _parts(request)
    classes, images, version = store.snapshot()
    blank = ImageLabel()
    rows = [{"path": name} | images.get(name, blank).as_json() for name in catalog.images]
    suggester = _suggester(request)
    if order == "uncertain" and suggester is not None:
        rows.sort(key=_uncertain_first(suggester))
    return {
        "classes": classes,
        "multilabel": store.multilabel,
        "version": version,
        "labels_file": str(store.tsv),
        "run": str(suggester.run_dir) if suggester else None,
        "images": rows,
        "progress": store.progress(catalog.images),
    }


@router.get("/sources")
def sources(request: Request) -> dict:
    """Where each collected image came from, by image: provider, licence, creator and page,
    from the data folder's manifest.csv (imclass collect); none for other images. The text
    came from the internet: the page shows it as text, and links only to http(s) addresses."""
    catalog, _ = _parts(request)
    rows = request.app.state.sources
    return {"sources": {name: _source(rows[name]) for name in catalog.images if name in rows}}


def _source(row: Row) -> dict:
    return {
        "provider": row.provider,
        "licence": row.licence,
        "licence_url": _web_address(row.licence_url),
        "creator": row.creator,
        "page_url": _web_address(row.page_url),
    }


def _web_address(url: str) -> str:
    """url when it is an http(s) address, else "" (never a javascript: or data: link)."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


@router.get("/images/{name:path}")
def image_file(
    request: Request, name: str, size: Literal["full", "display", "thumb"] = "display"
) -> FileResponse:
    """The image itself (full), a display-size copy, or a thumbnail; 404 outside the data."""
    catalog, _ = _parts(request)
    path = catalog.file(name)
    if path is None:
        raise HTTPException(404, "no such image")
    if size == "full":
        return FileResponse(path)
    try:
        return FileResponse(preview(path, size), media_type="image/jpeg")
    except UnreadableImage as error:
        raise HTTPException(422, f"cannot decode this image: {error}") from None


@router.post("/labels")
def write_labels(request: Request, write: LabelWrite) -> dict:
    """Set one image's classes and exclusion; answered once the change is on disk."""
    catalog, store = _parts(request)
    if write.image not in catalog.image_set:
        raise HTTPException(404, "no such image")
    try:
        change = store.set_labels(write.image, write.labels, exclude=write.exclude, seen=write.seen)
    except ConfigError as error:
        raise HTTPException(400, str(error)) from None
    return _answer(catalog, store, change)


@router.post("/undo")
def undo(request: Request, undo: UndoRequest) -> dict:
    """Put back what one of this tab's changes replaced (itself a new change)."""
    catalog, store = _parts(request)
    try:
        change = store.undo(undo.seq)
    except ChangeConflict as error:
        raise HTTPException(409, str(error)) from None
    return _answer(catalog, store, change)


@router.get("/classes")
def classes(request: Request) -> dict:
    return {"classes": _parts(request)[1].snapshot()[0]}


@router.post("/classes")
def add_class(request: Request, new: NewClass) -> dict:
    """Add a class (it takes the next number key)."""
    try:
        return {"classes": _parts(request)[1].add_class(new.name)}
    except ConfigError as error:
        raise HTTPException(400, str(error)) from None


@router.get("/progress")
def progress(request: Request) -> dict:
    """Labelled, excluded and left images, and images per class."""
    catalog, store = _parts(request)
    return store.progress(catalog.images)


@router.get("/suggestions")
def suggestions(request: Request, image: Annotated[list[str], Query()] = ()) -> dict:
    """The model's suggestion for each image named (first in line for those not predicted
    yet: ask again), and how many of the images are predicted so far."""
    catalog, store = _parts(request)
    suggester = _suggester(request)
    if suggester is None:
        return {"run": None, "suggestions": {}, "predicted": 0, "total": len(catalog.images)}
    names = [name for name in image if name in catalog.image_set]
    classes = store.snapshot()[0]
    known = suggester.ask(names)
    answers = {name: suggester.suggest(probs, classes) for name, probs in known.items()}
    return {
        "run": str(suggester.run_dir),
        "suggestions": {name: s and s.as_json() for name, s in answers.items()},
        "pending": [name for name in names if name not in known],
        "predicted": suggester.predicted(),
        "total": len(catalog.images),
        "error": suggester.error,
    }


def _suggester(request: Request) -> Suggester | None:
    return getattr(request.app.state, "suggester", None)


def _uncertain_first(suggester: Suggester):
    known = suggester.known()

    def key(row: dict) -> tuple[int, float]:
        if row["exclude"] or row["labels"]:
            return (2, 0.0)
        probs = known.get(row["path"])
        return (0, float(probs.max())) if probs is not None else (1, 0.0)

    return key


def _answer(catalog: Catalog, store: LabelStore, change) -> dict:
    return {
        "seq": change.seq,
        "image": {"path": change.image} | change.after.as_json(),
        "replaced_unseen": change.replaced_unseen,
        "progress": store.progress(catalog.images),
    }
