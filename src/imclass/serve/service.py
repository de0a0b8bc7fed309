"""create_service: the FastAPI application of `imclass serve`, the prediction service of one
trained run. Every answer, refusals included, is JSON; no stack trace ever reaches a client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from imclass._version import __version__
from imclass.errors import did_you_mean
from imclass.serve.model import ModelSlot
from imclass.serve.settings import ServeSettings
from imclass.web.docs import add_api_docs
from imclass.web.uploads import UploadLimits, read_uploads

PREDICT_PARAMETERS = ("top_k",)
IMAGE_BODIES = {"multipart/form-data": {}, "application/json": {}, "image/*": {}}


class Label(BaseModel):
    name: str = Field(alias="class")
    probability: float


class Prediction(BaseModel):
    filename: str | None
    labels: list[Label]


class Predictions(BaseModel):
    predictions: list[Prediction]


def create_service(settings: ServeSettings) -> FastAPI:
    """The service for settings.run_dir; the model starts loading when the server starts."""
    slot = ModelSlot(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        slot.start()
        if not settings.answer_while_loading:  # Uvicorn takes no connection before this ends
            await asyncio.to_thread(slot.wait)
        yield
        slot.stop()

    app = FastAPI(
        title="imclass serve",
        summary="Predictions of one trained imclass run over HTTP.",
        version=__version__,
        docs_url=None,  # FastAPI's own /docs fetches its viewer from a CDN; ours is offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.model = slot
    app.add_exception_handler(RequestValidationError, _invalid_parameter)
    app.add_exception_handler(Exception, _internal_error)
    add_api_docs(app, "imclass serve API")
    app.get("/healthz", tags=["health"])(healthz)
    app.get("/readyz", tags=["health"], responses={503: {"description": "not ready"}})(readyz)
    app.get("/v1/model", tags=["model"])(model)
    app.post(
        "/v1/predict",
        tags=["model"],
        response_model=Predictions,
        openapi_extra={"requestBody": {"content": IMAGE_BODIES}},
    )(predict)
    return app


def healthz() -> dict:
    """200 while the process serves requests (the liveness probe)."""
    return {"status": "alive"}


def readyz(request: Request):
    """200 once the model answers; 503 while it loads, or with the reason it cannot be
    (the readiness probe)."""
    slot: ModelSlot = request.app.state.model
    if slot.runtime is not None:
        return {"status": "ready"}
    detail = slot.error or "the model is loading"
    return JSONResponse({"status": slot.state, "detail": detail}, 503, {"Retry-After": "1"})


def model(request: Request) -> dict:
    """The served model: its classes in output order, preprocessing, whether it is
    multi-label (and its thresholds), its temperature, and its version (the first digits of
    its weights' SHA-256)."""
    return _runtime(request).description


async def predict(
    request: Request,
    top_k: int | None = Query(
        None,
        ge=1,
        description="labels an image: the k most probable classes [default: 3]; of a "
        "multi-label model, at most k of the labels reaching their thresholds [default: all]",
    ),
) -> dict:
    """Labels, most probable first, for each image of the request, in the order sent: a
    multipart form's `file` fields (repeat it for several), JSON
    `{"images": [{"filename": ..., "data": BASE64}]}`, or one image as the body."""
    _check_parameters(request)
    runtime = _runtime(request)
    settings = runtime.settings
    limits = UploadLimits(settings.max_request_bytes, settings.max_images)
    arriving = read_uploads(request, limits)
    uploads = await _within(settings.timeout_s, arriving, 408, "the request's body did not arrive")
    images = await run_in_threadpool(runtime.decode, uploads)
    answering = runtime.probabilities(images)
    probs = await _within(settings.timeout_s, answering, 503, "no answer: the server is overloaded")
    labels = runtime.labels(probs, top_k)
    return {
        "predictions": [
            {"filename": upload.filename, "labels": upload_labels}
            for upload, upload_labels in zip(uploads, labels, strict=True)
        ]
    }


def _runtime(request: Request):
    """The loaded model, or 503 while it loads (or cannot be)."""
    slot: ModelSlot = request.app.state.model
    if slot.runtime is None:
        detail = slot.error or "the model is still loading; retry when /readyz answers 200"
        raise HTTPException(503, detail, headers={"Retry-After": "1"})
    return slot.runtime


def _check_parameters(request: Request) -> None:
    """A misspelt query parameter is refused, not silently ignored."""
    for name in request.query_params:
        if name not in PREDICT_PARAMETERS:
            hint = did_you_mean(name, PREDICT_PARAMETERS)
            raise HTTPException(
                422, f"unknown query parameter {name!r}; /v1/predict takes top_k.{hint}"
            )


async def _within(seconds: float, step: Awaitable, status: int, what: str):
    try:
        return await asyncio.wait_for(step, seconds)
    except asyncio.TimeoutError:
        raise HTTPException(status, f"{what} within {seconds:g} s; retry later") from None


async def _invalid_parameter(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with one sentence a problem: "the query parameter 'top_k' must be ...; got '0'"."""
    problems = []
    for problem in error.errors():
        where, name = problem["loc"][0], problem["loc"][-1]
        message = problem["msg"][0].lower() + problem["msg"][1:]
        problems.append(f"the {where} parameter {name!r}: {message}; got {problem['input']!r}")
    return JSONResponse({"detail": "; ".join(problems)}, 422)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    """A bug: the client gets its kind, the server's log the traceback."""
    detail = f"internal error ({type(error).__name__}); the server's log has the details"
    return JSONResponse({"detail": detail}, 500)
