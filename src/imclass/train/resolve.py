"""Every decision a training run makes before it starts, made once, here.

`resolve(config, source, train_set, valid_set)` turns the settings (TrainConfig, where None
means "choose for me") and the data into a frozen `Resolved`: the backbone, its head, the
input size and preprocessing, test-time flips, the device, the decode cache and, under
torchrun, each process's share of the batch. The trainer
is built from it and asks nothing again; config.yaml is it, written out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from imclass.data.dataset import DataSource, ImageSet, LabelOptions
from imclass.data.decode_cache import cache_side, worth_caching
from imclass.data.transforms import Preprocessing, has_horizontal_flips
from imclass.inference.device import pick_device
from imclass.models import DEFAULT_MODEL, MULTILABEL_MODEL, default_image_size
from imclass.models.backbones import default_preprocessing
from imclass.models.heads import CLASS_ATTENTION, GEM
from imclass.models.joined import parts_of
from imclass.models.offline_weights import PACKAGES
from imclass.train.config import TrainConfig
from imclass.train.distributed import World


@dataclass(frozen=True)
class Resolved:
    """One run's settings with every choice made (see the module's docstring)."""

    config: TrainConfig
    model: str
    classes: tuple[str, ...]
    multilabel: bool
    # Several objects per image: a centre crop could cut one off, and pooling before the head
    # mixes them; class attention scores every location (models/heads.py).
    # single-label: the pooling before the linear layer, "gem" or "avg" (timm's own)
    head: str
    preprocessing: Preprocessing
    flip_tta: bool
    device: str
    cache: bool  # decode each image once (data/decode_cache.py)
    cache_side: int
    train_images: int
    valid_images: int
    split: str  # "as given" or "stratified" (the validation images' origin)
    world_size: int  # training processes (torchrun)
    batch_per_process: int  # config.batch_size is the global batch, divided among them

    def to_yaml_dict(self, data: Path | str, options: LabelOptions, version: str) -> dict:
        """config.yaml's content: what was asked (train, data_options), what was decided."""
        pre = self.preprocessing
        return {
            "imclass_version": version,
            "data": str(data),
            "data_options": {
                k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()
            },
            "train": self.config.to_dict(),
            "resolved": {
                "model": self.model,
                "classes": list(self.classes),
                "head": self.head,
                "image_size": pre.image_size,
                "mean": list(pre.mean),
                "std": list(pre.std),
                "interpolation": pre.interpolation,
                "crop_pct": pre.crop_pct,
                "flip_tta": self.flip_tta,
                "device": self.device,
                "cache": self.cache,
                "train_images": self.train_images,
                "valid_images": self.valid_images,
                "split": self.split,
                "multilabel": self.multilabel,
                "world_size": self.world_size,
                "batch_per_process": self.batch_per_process,
            },
        }


def resolve(
    config: TrainConfig,
    source: DataSource,
    train_set: ImageSet,
    valid_set: ImageSet,
    world: World | None = None,
) -> Resolved:
    """Decide the model, head, input, device and cache for training on source (in world's
    processes: default, one)."""
    world = world or World()
    model = config.model or (MULTILABEL_MODEL if source.multilabel else DEFAULT_MODEL)
    pre = default_preprocessing(model)
    pre = pre.at_size(config.image_size or default_image_size(model, pre.image_size))
    if source.multilabel:
        pre = replace(pre, crop_pct=1.0)
    side = cache_side(pre.image_size, pre.resize_size)
    cache = config.cache if config.cache is not None else worth_caching(train_set.paths, side)
    return Resolved(
        config=config,
        model=model,
        classes=tuple(source.classes),
        multilabel=source.multilabel,
        head=CLASS_ATTENTION if source.multilabel else pooling(config.pooling, model),
        preprocessing=pre,
        flip_tta=config.flip_tta and has_horizontal_flips(config.augment),
        device=world.device(str(pick_device(config.device))),
        cache=cache,
        cache_side=side,
        train_images=len(train_set),
        valid_images=len(valid_set),
        split="as given" if "valid" in source.splits else "stratified",
        world_size=world.size,
        batch_per_process=world.batch_per_process(config.batch_size),
    )


def pooling(asked: str | None, model: str) -> str:
    """The single-label head's pooling: as asked, else GeM for the offline backbones (where
    it was measured, models/heads.py; EfficientNet-Lites, which all pool by one timm layer)
    and timm's average pooling for every other model; joined backbones pool as their parts."""
    if asked is not None:
        return asked
    return GEM if all(part in PACKAGES for part in parts_of(model)) else "avg"
