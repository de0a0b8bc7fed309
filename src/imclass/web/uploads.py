"""Images sent to an imclass server, read from the request within its limits before any is
decoded. Three shapes of body:

- a multipart form, one `file` field an image (repeated for several):
  `curl -F file=@a.jpg -F file=@b.jpg`;
- JSON `{"images": [{"filename": "a.jpg", "data": BASE64}, ...]}`;
- one image as the body itself (Content-Type image/..., application/octet-stream, or none).

Refusals are HTTPExceptions whose detail says what to send instead: 413 a body or image over the
limit, or more images than allowed; 415 another Content-Type; 400 a form or JSON that cannot be
parsed, or bytes that are not an image; 422 a well-formed body without its images where they
belong.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from imclass.errors import UploadError, UploadTooLargeError

FORM = "multipart/form-data"
JSON = "application/json"
RAW = ("image/", "application/octet-stream")  # a body that is one image
FORM_OVERHEAD = 64 * 1024  # a multipart body's boundaries and part headers, beyond the images
MAX_FORM_PARTS = 1000  # starlette's default; the body's size bounds them first
SHAPES = (
    "send a multipart form with a `file` field per image (curl -F file=@photo.jpg), "
    'JSON {"images": [{"filename": "photo.jpg", "data": BASE64}]}, '
    "or one image as the body (Content-Type image/jpeg)"
)


@dataclass(frozen=True)
class Upload:
    """One image as sent: its name (None for a raw body, or when the client gave none) and
    its bytes, not yet decoded."""

    filename: str | None
    data: bytes

    def name(self, index: int) -> str:
        """How messages name it: its file name, else its place in the request."""
        return self.filename or f"image {index + 1}"


@dataclass(frozen=True)
class UploadLimits:
    """max_bytes: the whole request body; max_images: images in one request."""

    max_bytes: int
    max_images: int


async def read_uploads(request: Request, limits: UploadLimits) -> list[Upload]:
    """The images of the request, in the order sent, at least one and at most
    limits.max_images."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in (FORM, JSON, "") and not kind.startswith(RAW):
        raise HTTPException(
            415, f"the Content-Type {content_type!r} is not one of an image; {SHAPES}"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise body_too_large(int(declared), limits.max_bytes)
    body = await read_at_most(request, limits.max_bytes)
    if kind == FORM:
        uploads = await _form_uploads(request, body)
    elif kind == JSON:
        uploads = _json_uploads(body)
    else:
        uploads = [Upload(None, body)]
    if len(uploads) > limits.max_images:
        raise HTTPException(
            413,
            f"the request has {len(uploads)} images, more than the limit of {limits.max_images}; "
            "send them in several requests",
        )
    return uploads


async def read_at_most(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes limit: a client may send more than its
    Content-Length said, or none."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def body_too_large(size: int, limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the request has more than {limit} bytes (at least {size}); "
        "send a smaller image, or fewer images a request",
    )


def refusal(error: UploadError, name: str | None = None) -> HTTPException:
    """The HTTP answer to an upload that does not decode: 413 over the limit, else 400."""
    status = 413 if isinstance(error, UploadTooLargeError) else 400
    return HTTPException(status, f"{name}: {error}" if name else str(error))


async def _form_uploads(request: Request, body: bytes) -> list[Upload]:
    # without "app" in its scope, starlette raises the parser's own error instead of a 400
    scope = {key: value for key, value in request.scope.items() if key != "app"}
    try:
        form = await Request(scope, _replay(body)).form(
            max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS
        )
    except MultiPartException as error:
        raise HTTPException(400, f"the multipart form cannot be read: {error.message}") from None
    try:
        fields = form.getlist("file")
        if not fields:
            raise HTTPException(422, f"the form has no `file` field with an image; {SHAPES}")
        if not all(isinstance(field, UploadFile) for field in fields):
            raise HTTPException(422, "a `file` field holds text, not a file; curl -F file=@x.jpg")
        return [Upload(field.filename or None, await field.read()) for field in fields]
    finally:
        await form.close()  # parts over 1 MB were spooled to temporary files


def _json_uploads(body: bytes) -> list[Upload]:
    try:
        document = json.loads(body)
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError alike
        raise HTTPException(400, f"the JSON body cannot be read: {error}") from None
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list) or not images:
        raise HTTPException(422, f"the JSON body has no list of images; {SHAPES}")
    return [_json_upload(index, item) for index, item in enumerate(images)]


def _json_upload(index: int, item: object) -> Upload:
    where = f"images[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("data"), str):
        raise HTTPException(422, f"{where} has no `data` string (the image's bytes in base64)")
    filename = item.get("filename")
    if filename is not None and not isinstance(filename, str):
        raise HTTPException(422, f"{where}.filename must be a string or null, not {filename!r}")
    try:
        data = base64.b64decode(item["data"], validate=True)
    except binascii.Error as error:
        raise HTTPException(422, f"{where}.data is not base64 ({error})") from None
    return Upload(filename, data)


def _replay(body: bytes):
    """An ASGI receive that hands over a body already read (for the form parser)."""

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
