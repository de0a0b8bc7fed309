"""The data-wait warning: given above a fifth of an epoch's time, naming fixes that apply."""

import math
from types import SimpleNamespace

import pytest

from imclass.progress import Reporter
from imclass.train.data_wait import data_wait_warning
from imclass.train.distributed import World
from imclass.train.loop import EpochStats
from imclass.train.trainer import Trainer

SETUP = dict(cache=False, workers=1, cores=2)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, math.nan])
def test_no_warning_at_or_below_a_fifth_or_when_not_measured(fraction):
    assert data_wait_warning(fraction, "finetune epoch 1", **SETUP) is None


def test_above_a_fifth_the_warning_says_how_long_why_and_what_helps():
    text = data_wait_warning(0.35, "finetune epoch 2", **SETUP)
    assert text.startswith("finetune epoch 2 spent 35% of its time waiting for images")
    assert "--cache" in text and "imclass downsize" in text and "above 4 MP" in text
    assert "--workers 2 (now 1)" in text and "local SSD" in text
    assert "\n" not in text


def test_fixes_already_in_place_are_not_suggested():
    text = data_wait_warning(0.5, "finetune epoch 1", cache=True, workers=16, cores=16)
    assert "--cache" not in text and "--workers" not in text
    assert "imclass downsize" in text


def test_the_fraction_is_of_the_epoch_s_time():
    assert EpochStats(0.1, 0.9, 64, seconds=8.0, data_wait=2.0).data_wait_fraction == 0.25
    assert math.isnan(EpochStats(0.1, 0.9, 0, seconds=0.0, data_wait=0.0).data_wait_fraction)


def test_training_warns_once_per_run():
    trainer = SimpleNamespace(
        warned_of_data_wait=False,
        _workers=lambda: 1,
        world=World(),
        decode=None,
        reporter=Reporter(quiet=True),
    )
    slow = EpochStats(0.1, 0.9, 64, seconds=10.0, data_wait=5.0)
    fast = EpochStats(0.1, 0.9, 64, seconds=10.0, data_wait=0.1)
    Trainer._warn_of_data_wait(trainer, fast, "finetune epoch 1")
    assert trainer.reporter.warnings == 0
    for epoch in (2, 3):
        Trainer._warn_of_data_wait(trainer, slow, f"finetune epoch {epoch}")
    assert trainer.reporter.warnings == 1 and trainer.warned_of_data_wait
