"""ImageNet predictions with no training at all: the pretrained backbone and its own head."""

from __future__ import annotations

from timm.data import ImageNetInfo

from imclass.inference.predictor import Predictor
from imclass.models import IMAGENET_MODEL
from imclass.models.backbones import create_backbone, preprocessing_of
from imclass.models.run_dir import ModelSpec


def imagenet_predictor(model_name: str | None = None, **kwargs) -> Predictor:
    """A Predictor over the 1000 ImageNet classes, named from timm's bundled metadata; the
    backbone model_name, else IMAGENET_MODEL."""
    model_name = model_name or IMAGENET_MODEL
    model = create_backbone(model_name)
    info = ImageNetInfo()
    classes = tuple(info.index_to_description(i) for i in range(info.num_classes()))
    spec = ModelSpec(model_name, classes, preprocessing_of(model))
    return Predictor(model, spec, **kwargs)
