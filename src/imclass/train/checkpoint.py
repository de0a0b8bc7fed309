"""The resumable training state: one safetensors file whose metadata carries the JSON part.

One file, written atomically, so a kill at any moment leaves either the previous complete
state or the new one, never a mix. Nothing in it is pickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from imclass.errors import RunDirError
from imclass.files import atomic_path

CHECKPOINT_FILE = "checkpoint.safetensors"


def save_checkpoint(
    run_dir: Path,
    state: dict,
    tensors: dict[str, torch.Tensor],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
) -> None:
    """state: JSON-able progress; tensors: extra arrays; model and optimizer: their full state."""
    everything = {f"extra.{k}": v for k, v in tensors.items()}
    everything.update({f"model.{k}": v for k, v in model.state_dict().items()})
    meta = dict(state)
    if optimizer is not None:
        optimizer_tensors, meta["optimizer"] = _split_optimizer(optimizer.state_dict())
        everything.update(optimizer_tensors)
    everything = {k: v.detach().to("cpu").contiguous() for k, v in everything.items()}
    with atomic_path(run_dir / CHECKPOINT_FILE) as temporary:
        save_file(everything, str(temporary), metadata={"state": json.dumps(meta)})


def load_checkpoint(run_dir: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(state, tensors) as saved; tensors keep their 'extra.', 'model.', 'optimizer.' prefixes."""
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise RunDirError(
            f"{run_dir}: nothing to resume ({CHECKPOINT_FILE} is missing; a finished run has none)"
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            state = json.loads(handle.metadata()["state"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as error:  # noqa: BLE001 - any corruption is one clear message
        raise RunDirError(f"{path}: unreadable checkpoint ({error})") from None
    return state, tensors


def restore(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    state: dict,
    tensors: dict[str, torch.Tensor],
) -> None:
    model.load_state_dict(_with_prefix(tensors, "model."))
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(_join_optimizer(state["optimizer"], tensors))


def extra_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return _with_prefix(tensors, "extra.")


def _with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _split_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for param_id, values in state_dict["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{param_id}.{name}"] = value
            else:
                scalars[f"{param_id}.{name}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(meta: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict] = {}
    for key, value in _with_prefix(tensors, "optimizer.").items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    for key, value in meta["scalars"].items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}
