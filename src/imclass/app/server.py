"""create_app: the FastAPI application behind `imclass app`. Each page is one HTML file in
static/ with its own JSON router under /api; a new page adds its router here and its link to
static/nav.js."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from imclass.app import label_api, predict_api, runs_api
from imclass.app.catalog import read_catalog
from imclass.app.labels import LabelStore
from imclass.app.security import AccessGuard
from imclass.app.settings import AppSettings
from imclass.collect.manifest import read_sources
from imclass.errors import DataError
from imclass.web.docs import add_api_docs

STATIC = Path(__file__).parent / "static"


def create_app(settings: AppSettings) -> FastAPI:
    """The app for one launch: reads the data and its labels now (errors surface before the
    server starts), then serves the pages and the API."""
    app = FastAPI(
        title="imclass app",
        summary="Label images, review runs, try a model.",
        docs_url=None,  # FastAPI's own /docs fetches its viewer from a CDN; ours is offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.warnings = []  # one line each, printed by `imclass app` under its URL
    app.add_middleware(AccessGuard, settings=settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_api_docs(app, "imclass app API")
    if settings.data is not None:
        _add_label_page(app, settings)
    else:
        app.get("/label", include_in_schema=False)(_no_data)
    app.state.runs = runs_api.RunRegistry(settings)
    app.include_router(runs_api.router)
    app.get("/runs", include_in_schema=False)(_page("runs.html"))
    app.get("/runs/{name}", include_in_schema=False)(runs_api.run_page)
    app.state.models = predict_api.ModelShelf(settings)
    app.include_router(predict_api.router)
    app.get("/live", include_in_schema=False)(_page("live.html"))
    app.get("/", include_in_schema=False)(lambda: RedirectResponse(settings.start_page, 303))
    return app


def _add_label_page(app: FastAPI, settings: AppSettings) -> None:
    catalog = read_catalog(settings.data, labels_file=settings.labels_file)
    app.state.catalog = catalog
    app.state.sources = _sources(app, catalog.root)
    suggester = _suggester(settings, catalog.root)
    run_classes = suggester.spec.classes if suggester else ()
    app.state.labels = LabelStore(
        settings.labels_file,
        catalog.root,
        initial=catalog.initial,
        classes=settings.classes or catalog.classes or run_classes,
        multilabel=settings.multilabel or catalog.multilabel,
    )
    if suggester is not None:
        suggester.start(suggester.unlabelled_first(catalog, app.state.labels))
        app.state.suggester = suggester
        app.state.warnings += filter(None, [suggester.mismatch(app.state.labels.snapshot()[0])])
    app.include_router(label_api.router)
    app.get("/label", include_in_schema=False)(_page("label.html"))


def _sources(app: FastAPI, root: Path) -> dict:
    """The collected images' sources (root/manifest.csv of `imclass collect`), by image name;
    a manifest imclass cannot read is a warning, not a reason to refuse to start."""
    try:
        return read_sources(root)
    except DataError as error:
        app.state.warnings.append(f"warning: {error}; the grid shows no image sources")
        return {}


def _suggester(settings: AppSettings, root: Path):
    """The first --run's suggestions (its classes are the labelling's when nothing else names
    them); imported here, as only an app with a run needs torch."""
    if not settings.runs:
        return None
    from imclass.app.suggestions import Suggester

    return Suggester(settings.runs[0], root)


def _page(name: str):
    def page() -> FileResponse:
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

    return page


def _no_data() -> PlainTextResponse:
    return PlainTextResponse("No images to label: start the app with `imclass app DATA`.\n")
