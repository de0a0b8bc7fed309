"""`imclass train --config FILE`: the file's settings replace the defaults, and every option
given on the command line wins over the file, even one given at its default value."""

import yaml
from tests.helpers import invoke, make_image_folder


def test_options_given_win_over_the_file_which_wins_over_defaults(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6, size=32)
    settings = tmp_path / "best_config.yaml"
    settings.write_text(
        "epochs: 0\nimage_size: 64\nbatch_size: 8\nlabel_smoothing: 0.1\nweight_decay: 0.05\n"
        "flip_tta: false\nworkers: 0\n"
    )
    result = invoke(
        "train", data, "--config", settings, "--out", tmp_path / "run",
        "--batch-size", "4", "--label-smoothing", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    train = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]
    assert train["batch_size"] == 4  # given, over the file's 8
    assert train["label_smoothing"] == 0.0  # given at its default value: still given
    assert (train["epochs"], train["image_size"], train["weight_decay"]) == (0, 64, 0.05)
    assert train["flip_tta"] is False and train["lr"] == 1e-4  # the file; a default


def test_config_with_resume_is_a_usage_error(tmp_path):
    (tmp_path / "settings.yaml").write_text("epochs: 1\n")
    result = invoke("train", "--resume", tmp_path / "run", "--config", tmp_path / "settings.yaml")
    assert result.exit_code == 2
    assert "--resume continues with the run's own settings; drop --config" in result.output


def test_a_config_file_with_a_typo_is_one_line(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=2, size=32)
    (tmp_path / "settings.yaml").write_text("epoch: 1\n")
    result = invoke("train", data, "--config", tmp_path / "settings.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'settings.yaml'}: unknown training setting 'epoch'. "
        "Did you mean 'epochs'?"
    )
