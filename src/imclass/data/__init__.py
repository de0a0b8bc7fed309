"""Where images enter: finding data sets, decoding files, splitting, transforms and loaders."""

from imclass.data.dataset import DataSource, ImageSet, open_data
from imclass.data.images import IMAGE_EXTENSIONS, UnreadableImage, load_rgb
from imclass.data.split import stratified_split, train_valid_sets
from imclass.data.transforms import (
    AUGMENT_PRESETS,
    Preprocessing,
    eval_transform,
    train_transform,
)

__all__ = [
    "AUGMENT_PRESETS",
    "IMAGE_EXTENSIONS",
    "DataSource",
    "ImageSet",
    "Preprocessing",
    "UnreadableImage",
    "eval_transform",
    "load_rgb",
    "open_data",
    "stratified_split",
    "train_transform",
    "train_valid_sets",
]
