"""`--set NAME=VALUE` overrides of TrainConfig defaults, shared by the training benchmarks."""

from __future__ import annotations

import argparse

from imclass.train.config import TrainConfig


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override a TrainConfig default, e.g. lr=5e-4 image_size=320",
    )


def config_from(items: list[str]) -> TrainConfig:
    """TrainConfig with each NAME=VALUE converted to the type of that setting's default."""
    defaults = TrainConfig()
    return TrainConfig(
        **{
            name: _typed(getattr(defaults, name), value)
            for name, value in (item.split("=", 1) for item in items)
        }
    )


def _typed(default, value: str):
    """value as the type of the default; for a None default, an int, float or str."""
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if default is not None:
        return type(default)(value)
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
