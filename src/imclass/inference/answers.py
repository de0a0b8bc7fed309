"""Answers for pictures sent over HTTP, made one way for the app's Live page and for
`imclass serve`: an upload decoded within its limit at the model's own size, and probabilities
turned into labels by one rule (single-label: the k most probable classes; multi-label: every
label reaching its threshold, the k most probable of them when k is given)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imclass.data.uploads import decode_upload
from imclass.inference.predictor import above_thresholds, top_k
from imclass.models.run_dir import ModelSpec

DEFAULT_TOP_K = 3  # as `imclass predict`


def decode_for(spec: ModelSpec, data: bytes, max_bytes: int) -> Image.Image:
    """The upload's picture, decoded as a Predictor of spec decodes a file (a JPEG at the
    smallest reduced scale keeping the model's resize size), so both get one answer."""
    return decode_upload(data, max_bytes, min_size=spec.preprocessing.resize_size)


def ranked_labels(
    probs: np.ndarray, spec: ModelSpec, k: int | None = None
) -> list[list[tuple[str, float]]]:
    """For each row, its (class, probability) pairs, most probable first: the k (default
    DEFAULT_TOP_K) most probable classes, or for a multi-label model the labels at or above
    their thresholds (model.json's tuned ones, else 0.5), at most k of them when k is given."""
    if not spec.multilabel:
        return top_k(probs, spec.classes, k or DEFAULT_TOP_K)
    rows = above_thresholds(probs, spec.classes, spec.decision_thresholds())
    return rows if k is None else [row[:k] for row in rows]


def label_records(pairs: list[tuple[str, float]]) -> list[dict]:
    """[{"class": name, "probability": p}, ...] as the JSON answers show them (6 decimals)."""
    return [{"class": name, "probability": round(p, 6)} for name, p in pairs]
