"""A sweep's search space from YAML, and the plan made of it: every mistake is one line naming
the file, the setting and the fix, before anything trains."""

import pytest

from imclass.errors import ConfigError
from imclass.experiments.space import Choice, Range, read_space
from imclass.experiments.sweep import plan_sweep


def space_file(tmp_path, text: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_lists_make_a_grid_of_every_combination(tmp_path):
    space = read_space(space_file(tmp_path, "lr: [1e-4, 3.0e-4]\nepochs: [1, 2, 3]\n"))
    assert space.parameters == (Choice("lr", (1e-4, 3e-4)), Choice("epochs", (1, 2, 3)))
    assert space.is_grid and space.grid() == {"lr": [1e-4, 3e-4], "epochs": [1, 2, 3]}
    configurations = space.configurations()
    assert len(configurations) == 6
    assert configurations[0] == {"lr": 1e-4, "epochs": 1}
    assert configurations[-1] == {"lr": 3e-4, "epochs": 3}


def test_a_range_takes_its_settings_kind_and_scale(tmp_path):
    text = "lr: {low: 1e-5, high: 1e-3, log: true}\nepochs: {low: 1, high: 4}\n"
    space = read_space(space_file(tmp_path, text))
    assert space.parameters == (
        Range("lr", 1e-5, 1e-3, log=True, integer=False),
        Range("epochs", 1, 4, log=False, integer=True),
    )
    assert not space.is_grid and space.grid() == {}
    assert space.describe()["lr"] == {"low": 1e-5, "high": 1e-3, "log": True, "type": "float"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the space is empty; map at least one training setting"),
        ("{}\n", "the space is empty"),
        ("learning_rate: [0.1]\n", "unknown training setting 'learning_rate'"),
        ("weight_decai: [0.1]\n", r"'weight_decai'. Did you mean 'weight_decay'\?"),
        ("seed: [0, 1]\n", "seed cannot be swept: the repeats vary it"),
        ("lr: 0.001\n", "lr must be a list of values or a range {low, high}; got 0.001"),
        ("lr: []\n", "lr has an empty list"),
        ("epochs: [1, 1]\n", "epochs lists a value twice"),
        ("lr: {low: 0.1}\n", "lr's range needs both low and high"),
        ("lr: {low: 0.1, hihg: 0.2}\n", "unknown range key 'hihg'.* Did you mean 'high'"),
        ("lr: {low: 0.2, high: 0.1}\n", "lr's range needs low < high; got 0.2 and 0.1"),
        ("label_smoothing: {low: 0, high: 0.2, log: true}\n", "log range needs low > 0"),
        ("epochs: {low: 1, high: 5, type: float}\n", "epochs takes whole numbers; use type: int"),
        ("epochs: {low: 1.5, high: 5}\n", "epochs takes whole numbers; got 1.5"),
        ("augment: {low: 0, high: 1}\n", "augment is a str setting; give it a list of values"),
        ("lr: [2.0]\n", r"with lr=2.0: The 'lr' parameter of train must be a float in \(0, 1\]"),
        ("lr: {low: 0.1, high: 3}\n", r"with lr=3.0: The 'lr' parameter of train"),
        ("lr: [fast]\n", "The 'lr' parameter of train must be a float. Got 'fast'"),
        ("- lr\n", "expected a mapping of training settings"),
    ],
)
def test_a_bad_space_is_one_line_naming_the_file(tmp_path, text, message):
    path = space_file(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        plan_sweep(tmp_path / "data", path, tmp_path / "out")
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_combinations_train_refuses_are_refused_before_training(tmp_path):
    path = space_file(tmp_path, "head_epochs: [0, 10]\nepochs: [0, 1]\n")
    with pytest.raises(ConfigError, match=r"with head_epochs=0, epochs=0: The 'epochs' parameter"):
        plan_sweep(tmp_path / "data", path, tmp_path / "out")


@pytest.mark.parametrize(
    "text, arguments, message",
    [
        ("lr: [0.1]\n", {"settings": {"lr": 0.2}}, "lr is both swept .* and set \\(--set\\)"),
        ("lr: [0.1]\n", {"settings": {"seed": 3}}, "--set seed: the repeats train with seeds"),
        (
            "lr: {low: 0.001, high: 0.1}\n",
            {"sampler": "grid"},
            "the grid sampler needs a list of values for every setting, and lr has a range",
        ),
        ("lr: {low: 0.001, high: 0.1}\n", {}, "lr has a range: give --trials N"),
    ],
)
def test_a_plan_that_cannot_work_is_refused(tmp_path, text, arguments, message):
    with pytest.raises(ConfigError, match=message):
        plan_sweep(tmp_path / "data", space_file(tmp_path, text), tmp_path / "out", **arguments)


def test_a_plan_picks_its_sampler_and_number_of_trials(tmp_path):
    grid = plan_sweep("d", space_file(tmp_path, "lr: [0.1, 0.2]\nepochs: [1, 2]\n"), "o")
    assert (grid.sampler, grid.trials) == ("grid", 4)
    assert grid.config({"lr": 0.2, "epochs": 1}, repeat=1).seed == 1
    ranges = plan_sweep("d", space_file(tmp_path, "lr: {low: 0.01, high: 0.1}\n"), "o", trials=7)
    assert (ranges.sampler, ranges.trials) == ("tpe", 7)
    assert ranges.name == "sweep"  # OUT's own database: OUT may be renamed
    shared = plan_sweep("d", space_file(tmp_path, "lr: [0.1]\n"), "o", storage="postgresql://h/d")
    assert shared.name == "o"
