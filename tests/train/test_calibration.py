import numpy as np
import pytest
import torch

from imclass.evaluate.metrics import expected_calibration_error, undo_temperature
from imclass.train.calibration import fit_temperature
from imclass.train.task import make_task


def test_temperature_recovers_the_scale_that_generated_the_labels():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 5, generator=generator) * 4
    labels = torch.multinomial((logits / 2.5).softmax(1), 1, generator=generator)[:, 0]
    temperature = fit_temperature(logits, labels, make_task(False, 5, 0.0))
    assert temperature == pytest.approx(2.5, rel=0.1)
    probs = (logits / temperature).softmax(1).numpy()
    raw = logits.softmax(1).numpy()
    assert expected_calibration_error(labels.numpy(), probs) < 0.03
    assert expected_calibration_error(labels.numpy(), raw) > 0.1


def test_without_validation_images_the_temperature_is_one():
    assert fit_temperature(torch.empty(0, 3), torch.empty(0), make_task(False, 3, 0.0)) == 1.0


def test_undo_temperature_gives_back_the_unscaled_softmax():
    logits = np.random.default_rng(0).normal(0, 3, (20, 4))
    scaled = torch.from_numpy(logits / 0.7).softmax(1).numpy()
    np.testing.assert_allclose(
        undo_temperature(scaled, 0.7), torch.from_numpy(logits).softmax(1).numpy(), atol=1e-9
    )


def test_few_validation_images_move_the_temperature_less_than_many():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2000, 4, generator=generator) * 4
    labels = torch.multinomial((logits / 3).softmax(1), 1, generator=generator)[:, 0]
    task = make_task(False, 4, 0.0)
    many = fit_temperature(logits, labels, task)
    few = fit_temperature(logits[:20], labels[:20], task)
    assert many == pytest.approx(3, rel=0.1)
    assert 1.0 < few < many


def test_multilabel_temperature_uses_every_label_as_evidence():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(1000, 3, generator=generator) * 4
    targets = torch.bernoulli((logits / 2).sigmoid(), generator=generator)
    assert fit_temperature(logits, targets, make_task(True, 3, 0.0)) == pytest.approx(2, rel=0.1)
