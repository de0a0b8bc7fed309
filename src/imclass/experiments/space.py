"""A sweep's search space: which training settings vary, and over what, read from YAML.

    epochs: [3, 5, 10]                    # a list: each value is tried
    lr: {low: 1e-5, high: 1e-3, log: true}  # a range (float, or type: int)

A space of lists only is a grid: every combination is one configuration.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from pathlib import Path

from imclass.errors import ConfigError, did_you_mean
from imclass.files import read_yaml_mapping
from imclass.train.config import TrainConfig, setting_kind, typed_setting

RANGE_KEYS = ("low", "high", "log", "type")
# The repeats own the seed (SEED..SEED+R-1): a swept seed would be a repeat by another name.
NOT_SWEPT = {"seed": "the repeats vary it (--repeats, --seed)"}


@dataclass(frozen=True)
class Choice:
    """A setting tried at each of its values."""

    name: str
    values: tuple

    def suggest(self, trial):
        return trial.suggest_categorical(self.name, list(self.values))

    def corners(self) -> tuple:
        return self.values

    def describe(self) -> list:
        return list(self.values)


@dataclass(frozen=True)
class Range:
    """A setting drawn from [low, high], evenly or on a log scale."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial):
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def corners(self) -> tuple:
        return self.low, self.high

    def describe(self) -> dict:
        kind = "int" if self.integer else "float"
        return {"low": self.low, "high": self.high, "log": self.log, "type": kind}


@dataclass(frozen=True)
class SearchSpace:
    parameters: tuple[Choice | Range, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def is_grid(self) -> bool:
        return all(isinstance(p, Choice) for p in self.parameters)

    def grid(self) -> dict[str, list]:
        """The lists, as optuna's GridSampler takes them (a space of ranges has none)."""
        return {p.name: list(p.values) for p in self.parameters if isinstance(p, Choice)}

    def configurations(self) -> list[dict]:
        """Every configuration of a grid, in order."""
        return [dict(zip(self.names, v, strict=True)) for v in itertools.product(*self._lists())]

    def _lists(self) -> list[tuple]:
        return [p.values for p in self.parameters if isinstance(p, Choice)]

    def suggest(self, trial) -> dict:
        return {p.name: p.suggest(trial) for p in self.parameters}

    def describe(self) -> dict:
        """The space as its YAML says it: what experiment.json and the study record."""
        return {p.name: p.describe() for p in self.parameters}

    def check(self, settings: dict, where: str) -> None:
        """Every list value and range end, with settings, must make a valid TrainConfig: a
        mistake is refused before the first training, not when a trial reaches it."""
        for corner in itertools.product(*(p.corners() for p in self.parameters)):
            values = dict(zip(self.names, corner, strict=True))
            try:
                TrainConfig(**{**settings, **values})
            except ConfigError as error:
                shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
                raise ConfigError(f"{where}: with {shown}: {error}") from None


def read_space(path: Path | str) -> SearchSpace:
    """The search space in a YAML file (see the module's docstring)."""
    values = read_yaml_mapping(path, "training settings to lists or {low, high} ranges")
    if not values:
        raise ConfigError(
            f"{path}: the space is empty; map at least one training setting to a list of "
            "values or a range, like `lr: [0.0001, 0.0003]`"
        )
    return SearchSpace(tuple(_parameter(str(name), v, str(path)) for name, v in values.items()))


def _parameter(name: str, value, where: str) -> Choice | Range:
    setting_kind(name, where)  # an unknown name, with a close match
    if name in NOT_SWEPT:
        raise ConfigError(f"{where}: {name} cannot be swept: {NOT_SWEPT[name]}")
    if isinstance(value, list):
        return _choice(name, value, where)
    if isinstance(value, dict):
        return _range(name, value, where)
    raise ConfigError(
        f"{where}: {name} must be a list of values or a range {{low, high}}; got {value!r}"
    )


def _choice(name: str, values: list, where: str) -> Choice:
    if not values:
        raise ConfigError(f"{where}: {name} has an empty list; give at least one value")
    typed = tuple(typed_setting(name, v, where) for v in values)
    if len(set(map(repr, typed))) < len(typed):
        raise ConfigError(f"{where}: {name} lists a value twice: {list(typed)}")
    return Choice(name, typed)


def _range(name: str, spec: dict, where: str) -> Range:
    for key in spec:
        if key not in RANGE_KEYS:
            raise ConfigError(
                f"{where}: {name} has an unknown range key {key!r} (a range takes "
                f"{', '.join(RANGE_KEYS)}).{did_you_mean(str(key), RANGE_KEYS)}"
            )
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: {name}'s range needs both low and high")
    integer = _is_integer(name, spec, where)
    kind = int if integer else float
    low, high = (_number(name, spec[k], kind, where) for k in ("low", "high"))
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: {name}'s log must be true or false; got {log!r}")
    if not low < high:
        raise ConfigError(f"{where}: {name}'s range needs low < high; got {low} and {high}")
    if log and low <= 0:
        raise ConfigError(f"{where}: {name}'s log range needs low > 0; got {low}")
    return Range(name, low, high, log, integer)


def _is_integer(name: str, spec: dict, where: str) -> bool:
    """A range's type: as given, else the setting's own (int settings take int ranges)."""
    kind = setting_kind(name, where)
    if kind not in (int, float):
        raise ConfigError(f"{where}: {name} is a {kind.__name__} setting; give it a list of values")
    asked = spec.get("type", "int" if kind is int else "float")
    if asked not in ("int", "float"):
        raise ConfigError(f"{where}: {name}'s type must be int or float; got {asked!r}")
    if kind is int and asked == "float":
        raise ConfigError(f"{where}: {name} takes whole numbers; use type: int")
    return asked == "int"


def _number(name: str, value, kind: type, where: str):
    if isinstance(value, str):  # YAML reads 1e-4 (no dot) as text
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name}'s range ends must be numbers; got {value!r}")
    if kind is int and value != int(value):
        raise ConfigError(f"{where}: {name} takes whole numbers; got {value}")
    return kind(value)
