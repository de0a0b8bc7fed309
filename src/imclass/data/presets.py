"""The augmentation presets by name (torch-free, so settings can be checked cheaply)."""

from __future__ import annotations

from imclass.errors import ConfigError, did_you_mean

AUGMENT_PRESETS = ("photo", "overhead", "text", "none")


def check_augment(preset: str) -> str:
    if preset not in AUGMENT_PRESETS:
        raise ConfigError(
            f"The 'augment' parameter of train must be one of {', '.join(AUGMENT_PRESETS)}. "
            f"Got {preset!r} instead.{did_you_mean(preset, AUGMENT_PRESETS)}"
        )
    return preset
