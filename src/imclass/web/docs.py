"""/docs: the OpenAPI viewer from the swagger-ui-bundle package, served by the server itself
(FastAPI's own /docs fetches it from a CDN, which an offline machine cannot reach)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"


def add_api_docs(app: FastAPI, title: str) -> None:
    """GET /docs shows app's schema (/openapi.json) in Swagger UI, its files under ASSETS.
    Create app with docs_url=None and redoc_url=None, so only this one is served."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.get("/docs", include_in_schema=False)(docs)
