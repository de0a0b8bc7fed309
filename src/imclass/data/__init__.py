"""Where images enter: finding data sets, decoding files, checking, de-duplicating, splitting.

Transforms and loaders (which need torch) are imported from their modules:
imclass.data.transforms, imclass.data.loader.
"""

from imclass.data.dataset import DataSource, ImageSet, open_data, open_images
from imclass.data.dedup import Duplicates, find_duplicates
from imclass.data.images import IMAGE_EXTENSIONS, UnreadableImage, load_rgb
from imclass.data.inspection import advice, describe_data, verify_images
from imclass.data.presets import AUGMENT_PRESETS
from imclass.data.split import plan_split, train_valid_sets, write_split_file

__all__ = [
    "AUGMENT_PRESETS",
    "IMAGE_EXTENSIONS",
    "DataSource",
    "Duplicates",
    "ImageSet",
    "UnreadableImage",
    "advice",
    "describe_data",
    "find_duplicates",
    "load_rgb",
    "open_data",
    "open_images",
    "plan_split",
    "train_valid_sets",
    "verify_images",
    "write_split_file",
]
