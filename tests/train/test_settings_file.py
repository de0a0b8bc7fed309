"""Training settings read from a YAML file (`imclass train --config`, a sweep's best_config.yaml):
a flat mapping or a run's config.yaml, typed like the settings, every mistake naming the file."""

import pytest
import yaml

from imclass.errors import ConfigError
from imclass.train.config import TrainConfig, read_settings_file


def test_a_flat_file_gives_typed_settings(tmp_path):
    path = tmp_path / "settings.yaml"
    # YAML reads 1e-4 (no dot) as text and 1 as an int: both become lr's float
    path.write_text("lr: 1e-4\nhead_lr: 1\nepochs: 3\naugment: none\nflip_tta: false\n")
    settings = read_settings_file(path)
    assert settings == {
        "lr": 0.0001,
        "head_lr": 1.0,
        "epochs": 3,
        "augment": "none",
        "flip_tta": False,
    }
    assert type(settings["lr"]) is float and type(settings["head_lr"]) is float


def test_a_runs_config_yaml_gives_its_train_section(tmp_path):
    written = TrainConfig(epochs=2, label_smoothing=0.1).to_dict()
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"data": "/d", "train": written, "resolved": {"x": 1}}))
    assert read_settings_file(path) == written


def test_an_empty_file_sets_nothing(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert read_settings_file(tmp_path / "empty.yaml") == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ("lr: 0.001\nepoch: 3\n", r"settings.yaml: unknown training setting 'epoch'. Did you mean"),
        ("lr: 3\n", r"settings.yaml: The 'lr' parameter of train must be a float in \(0, 1\]"),
        ("lr: fast\n", r"settings.yaml: The 'lr' parameter of train must be a float. Got 'fast'"),
        ("- lr\n- epochs\n", r"settings.yaml: expected a mapping of training settings"),
        ("lr: [1\n", r"settings.yaml: not valid YAML \(while parsing"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_settings_file(path)
    assert "\n" not in str(caught.value)
