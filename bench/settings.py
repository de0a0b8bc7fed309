"""`--set NAME=VALUE` overrides of TrainConfig defaults, shared by the training benchmarks."""

from __future__ import annotations

import argparse

from imclass.train.config import TrainConfig, parse_assignments


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        nargs="*",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="override a TrainConfig default, e.g. lr=5e-4 image_size=320",
    )


def config_from(items: list[str]) -> TrainConfig:
    """TrainConfig with each NAME=VALUE converted to that setting's type."""
    return TrainConfig(**parse_assignments(items))
