"""The prediction API the Live page uses: the models one may ask (ImageNet with no training,
and each registered run) and the top classes for one image.

An image arrives as the raw request body (Content-Type image/*) or as the `file` field of a
multipart form, read by web/uploads.py and answered by inference/answers.py as `imclass serve`
reads and answers it. It is refused before decoding when larger than the launch's upload limit
(413), and when it does not decode as an image (400). Models load on first use and stay loaded;
one lock keeps inference to one request at a time (a CPU model uses every core anyway).
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from imclass.app.settings import AppSettings
from imclass.errors import ImclassError, UploadError, did_you_mean
from imclass.evaluate.runs import list_runs
from imclass.inference import Predictor, imagenet_predictor
from imclass.inference.answers import decode_for, label_records, ranked_labels
from imclass.web.uploads import FORM_OVERHEAD, UploadLimits, read_uploads, refusal

router = APIRouter(prefix="/api", tags=["predict"])

IMAGENET = "imagenet"
TOP = 3  # classes in an answer


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
        """The TOP classes for the image in data (of a multi-label run, those of its labels
        reaching their thresholds), most probable first."""
        with self._lock:
            predictor = self._load(key)
            image = decode_for(predictor.spec, data, self.settings.max_upload_bytes)
            probs = predictor.predict_images([image])
        return label_records(ranked_labels(probs, predictor.spec, TOP)[0])

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
    key = shelf.resolve(model)
    limits = UploadLimits(shelf.settings.max_upload_bytes + FORM_OVERHEAD, max_images=1)
    upload = (await read_uploads(request, limits))[0]
    try:
        top = await run_in_threadpool(shelf.predict, key, upload.data)
    except UploadError as error:
        raise refusal(error) from None
    except ImclassError as error:  # a registered run that cannot be loaded
        raise HTTPException(500, f"the model {model!r} cannot be used: {error}") from None
    return {"model": model, "predictions": top}
