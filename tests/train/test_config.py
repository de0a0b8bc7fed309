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
