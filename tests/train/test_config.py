"""TrainConfig checks its values when made, with one message template and close-match hints."""

import pytest

from imclass import TrainConfig
from imclass.errors import ConfigError


def test_invalid_parameter_message_names_it():
    with pytest.raises(
        ConfigError, match=r"The 'lr' parameter of train must be a float in \(0, 1\]. Got -3"
    ):
        TrainConfig(lr=-3)
    with pytest.raises(ConfigError, match="Did you mean 'photo'"):
        TrainConfig(augment="phot")
    with pytest.raises(ConfigError, match=r"'pooling' parameter of train must be 'gem' or 'avg'"):
        TrainConfig(pooling="max")


def test_name_value_settings_are_typed_by_their_setting():
    from imclass.train.config import parse_assignments

    assert parse_assignments(["lr=5e-4", "augment=none", "image-size=none", "flip_tta=off"]) == {
        "lr": 5e-4,
        "augment": "none",
        "image_size": None,
        "flip_tta": False,
    }
    with pytest.raises(ConfigError, match=r"unknown training setting 'epoch'. Did you mean"):
        parse_assignments(["epoch=3"])
    with pytest.raises(ConfigError, match=r"The 'epochs' parameter of train must be a int"):
        parse_assignments(["epochs=three"])
