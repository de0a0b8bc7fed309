"""Probabilities and decisions: the one place logits become probabilities and probabilities
become classes or label sets."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import imclass
from imclass.inference.decisions import decide, probabilities

LN3 = math.log(3)
PROBS = np.array([[0.9, 0.2, 0.6], [0.3, 0.7, 0.1], [0.8, 0.4, 0.2], [0.1, 0.3, 0.45]])


def test_softmax_rows_for_one_class_per_image():
    got = probabilities(torch.tensor([[0.0, LN3], [LN3, 0.0]]), multilabel=False)
    np.testing.assert_allclose(got.numpy(), [[0.25, 0.75], [0.75, 0.25]], atol=1e-6)


def test_independent_sigmoids_for_multilabel():
    got = probabilities(torch.tensor([[0.0, LN3, -LN3]]), multilabel=True)
    np.testing.assert_allclose(got.numpy(), [[0.5, 0.75, 0.25]], atol=1e-6)


@pytest.mark.parametrize("multilabel", [False, True])
def test_a_temperature_of_two_halves_the_logits(multilabel):
    logits = torch.tensor([[0.0, 2 * LN3, -4.0]])
    got = probabilities(logits, multilabel=multilabel, temperature=2.0)
    halved = probabilities(torch.tensor([[0.0, LN3, -2.0]]), multilabel=multilabel)
    np.testing.assert_allclose(got.numpy(), halved.numpy(), atol=1e-7)
    if multilabel:
        assert got[0, 1].item() == pytest.approx(0.75)


def test_half_precision_logits_give_float32_probabilities():
    got = probabilities(torch.tensor([[0.0, LN3]], dtype=torch.bfloat16), multilabel=False)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), [[0.25, 0.75]], atol=2e-3)


def test_single_label_decides_the_most_probable_class_row_by_row():
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    assert decide(probs, multilabel=False).tolist() == [1, 0, 1]


def test_thresholds_apply_to_probabilities():
    assert decide(PROBS, multilabel=True, thresholds=[0.5, 0.25, 0.4]).tolist() == [
        [True, False, True],
        [False, True, False],
        [True, True, False],
        [False, True, True],
    ]


def test_a_label_reaching_its_threshold_exactly_is_on_and_half_is_the_default():
    probs = np.array([[0.5, 0.49, 0.51]])
    assert decide(probs, multilabel=True).tolist() == [[True, False, True]]
    assert decide(probs, multilabel=True, thresholds=0.49).tolist() == [[True, True, True]]


def test_repeated_rows_get_the_same_decision_and_an_unreadable_row_no_label():
    row, other = [0.9, 0.2, 0.6], [0.1, 0.7, 0.1]
    probs = np.array([row, other, row, [np.nan] * 3])
    assert decide(probs, multilabel=True).tolist() == [
        [True, False, True],
        [False, True, False],
        [True, False, True],
        [False, False, False],
    ]


def test_a_cpu_tensor_of_probabilities_is_decided_like_an_array():
    probs = probabilities(torch.tensor([[2.0, -1.0], [-0.5, 0.5]]), multilabel=True)
    assert decide(probs, multilabel=True).tolist() == [[True, False], [False, True]]
    assert decide(probs, multilabel=False).tolist() == [0, 1]


def test_no_other_module_computes_a_softmax_a_sigmoid_or_an_argmax():
    package = Path(imclass.__file__).parent
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"softmax", "sigmoid", "argmax"}
            ):
                found.add(path.relative_to(package).as_posix())
    assert found == {"inference/decisions.py"}
