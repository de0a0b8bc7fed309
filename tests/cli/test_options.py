"""`train`'s options are generated from TrainConfig's fields: one declaration per setting."""

from dataclasses import fields

import click
import pytest
from click.testing import CliRunner

from imclass.cli import main
from imclass.data.presets import AUGMENT_PRESETS
from imclass.evaluate.multilabel import score
from imclass.train.config import THRESHOLD_OBJECTIVES, TrainConfig


def train_params() -> dict[str, click.Parameter]:
    return {p.name: p for p in main.commands["train"].params}


def test_every_training_setting_is_a_train_option_with_the_fields_default():
    params = train_params()
    for setting in fields(TrainConfig):
        option = params[setting.name]
        assert option.default == setting.default, setting.name
        assert option.help == setting.metadata["help"], setting.name
        assert f"--{setting.name.replace('_', '-')}" in option.opts


def test_flags_types_and_choices_come_from_the_fields():
    params = train_params()
    assert params["flip_tta"].secondary_opts == ["--no-flip-tta"]
    assert params["cache"].secondary_opts == ["--no-cache"] and params["cache"].default is None
    assert isinstance(params["epochs"].type, click.types.IntParamType)
    assert isinstance(params["wise_alpha"].type, click.types.FloatParamType)
    assert isinstance(params["image_size"].type, click.types.IntParamType)
    assert tuple(params["augment"].type.choices) == AUGMENT_PRESETS
    assert tuple(params["threshold_objective"].type.choices) == THRESHOLD_OBJECTIVES


def test_a_choice_outside_the_declared_ones_is_refused_before_training(tmp_path):
    result = CliRunner().invoke(main, ["train", str(tmp_path), "--augment", "phot"])
    assert result.exit_code == 2 and "'phot' is not one of" in result.output


def test_the_declared_threshold_objectives_are_the_ones_the_tuner_scores():
    """The setting's choices and evaluate/multilabel.py's objectives must not drift apart."""
    import numpy as np

    targets = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)
    predicted = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], dtype=bool)
    exact, f1 = (score(objective, targets, predicted) for objective in THRESHOLD_OBJECTIVES)
    assert THRESHOLD_OBJECTIVES == ("exact_match", "f1")
    assert exact == pytest.approx(2 / 4)  # rows 1 and 3 right
    assert f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 3 true positives, 1 FP, 1 FN


def test_every_runtime_option_offers_exactly_the_runtimes_the_library_knows():
    # cli/common.py spells them out: importing inference/runtime.py would load torch at start
    from imclass.inference.runtime import RUNTIMES

    offering = {
        name: param.type.choices
        for name, command in main.commands.items()
        for param in command.params
        if param.name == "runtime"
    }
    assert {"predict", "evaluate", "doctor", "serve"} <= offering.keys()
    for name, choices in offering.items():
        assert tuple(choices) == RUNTIMES, name
