"""The prediction API the Live page uses (and the REST serving issue will reuse): the models one
may ask (ImageNet with no training, and each registered run) and the top classes for one image.

An image arrives as the raw request body (Content-Type image/*) or as the `file` field of a
multipart form. It is refused before decoding when larger than the launch's upload limit (413),
and when it does not decode as an image (422). Models load on first use and stay loaded;
one lock keeps inference to one request at a time (a CPU model uses every core anyway).
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from imclass.app.settings import AppSettings
from imclass.data.uploads import decode_upload
from imclass.errors import ImclassError, UploadError, UploadTooLargeError, did_you_mean
from imclass.evaluate.runs import list_runs
from imclass.inference import Predictor, imagenet_predictor, top_k

router = APIRouter(prefix="/api", tags=["predict"])

IMAGENET = "imagenet"
TOP = 3  # classes in an answer
FORM_OVERHEAD = 64 * 1024  # a multipart body's boundaries and part headers, beyond the image


class ModelShelf:
    """The models of one launch by name, each loaded on first use and kept; inference under
    one lock."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self._loaded: dict[Path | str, Predictor] = {}
        self._lock = threading.Lock()

    def runs(self) -> dict[str, Path]:
        """The registered runs by name (read again each time: a run trained meanwhile shows);
        the first of two runs with one name wins."""
        sources = [*self.settings.runs]
        if self.settings.runs_dir is not None:
            sources.append(self.settings.runs_dir)
        found: dict[str, Path] = {}
        for run in list_runs(sources) if sources else []:
            found.setdefault(run.name, run.path)
        return found

    def choices(self) -> list[dict]:
        imagenet = {"name": IMAGENET, "title": "ImageNet (no training)", "kind": "imagenet"}
        return [imagenet] + [{"name": name, "title": name, "kind": "run"} for name in self.runs()]

    def resolve(self, name: str) -> Path | str:
        """The run directory behind name, or IMAGENET; 404 for any other name."""
        if name == IMAGENET:
            return IMAGENET
        runs = self.runs()
        if name not in runs:
            hint = did_you_mean(name, [IMAGENET, *runs])
            raise HTTPException(404, f"no model named {name!r}; see /api/models.{hint}")
        return runs[name].resolve()

    def predict(self, key: Path | str, data: bytes) -> list[dict]:
        """The TOP classes for the image in data, most probable first."""
        with self._lock:
            predictor = self._load(key)
            size = predictor.spec.preprocessing.resize_size
            image = decode_upload(data, self.settings.max_upload_bytes, min_size=size)
            probs = predictor.predict_images([image])
        pairs = top_k(probs, predictor.spec.classes, TOP)[0]
        return [{"class": name, "probability": round(p, 6)} for name, p in pairs]

    def _load(self, key: Path | str) -> Predictor:
        if key not in self._loaded:
            if key == IMAGENET:
                self._loaded[key] = imagenet_predictor(device="cpu")
            else:
                self._loaded[key] = Predictor.from_run_dir(key, device="cpu")
        return self._loaded[key]


@router.get("/models")
def models(request: Request) -> dict:
    """The models /api/predict takes: ImageNet with no training, then each registered run."""
    return {"models": request.app.state.models.choices()}


@router.post(
    "/predict",
    openapi_extra={"requestBody": {"content": {"image/*": {}, "multipart/form-data": {}}}},
)
async def predict(
    request: Request, model: str = Query(IMAGENET, description="a run's name or 'imagenet'")
) -> dict:
    """The top 3 classes, with probabilities, for one image: the request body itself
    (Content-Type image/jpeg, image/png, ...) or a multipart form's `file` field."""
    shelf: ModelShelf = request.app.state.models
    limit = shelf.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise _too_large(int(declared), limit)
    key = shelf.resolve(model)
    data = await _image_bytes(request, limit)
    try:
        top = await run_in_threadpool(shelf.predict, key, data)
    except UploadTooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except UploadError as error:
        raise HTTPException(422, str(error)) from None
    except ImclassError as error:  # a registered run that cannot be loaded
        raise HTTPException(500, f"the model {model!r} cannot be used: {error}") from None
    return {"model": model, "predictions": top}


async def _image_bytes(request: Request, limit: int) -> bytes:
    """The image's bytes, read no further than the limit allows; the part's own size is
    checked against the limit when it is decoded."""
    body = await _read_at_most(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body
    form = await Request(request.scope, _replay(body)).form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "the form has no `file` field with the image")
    return await upload.read()


async def _read_at_most(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes limit and a form's overhead: a client
    may send more than its Content-Length said, or none."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + FORM_OVERHEAD:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes):
    """An ASGI receive that hands over a body already read (for the form parser)."""

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _too_large(size: int, limit: int) -> HTTPException:
    return HTTPException(
        413, f"the upload has more than {limit} bytes (at least {size}); send a smaller image"
    )
