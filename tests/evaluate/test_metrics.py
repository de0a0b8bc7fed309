import numpy as np
import pytest

from imclass.evaluate.metrics import classification_metrics, expected_calibration_error


def test_metrics_on_a_hand_checked_example():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.4, 0.5, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.1, 0.8],
            [0.6, 0.2, 0.2],
        ]
    )
    m = classification_metrics(labels, probs, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["per_class"]["b"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert m["top_k_accuracy"] == {"1": pytest.approx(4 / 6)}  # k=3 is not < 3 classes
    expected_log_loss = -np.mean(np.log([0.8, 0.4, 0.8, 0.7, 0.8, 0.2]))
    assert m["log_loss"] == pytest.approx(expected_log_loss)


def test_perfectly_calibrated_bins_have_zero_error():
    labels = np.array([0, 0, 0, 1])  # confidence 0.75 for class 0 everywhere, right 3 of 4 times
    probs = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(labels, probs) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1, 1, 1, 1]), probs) == pytest.approx(0.75)


def test_worst_mistakes_are_the_most_confident_wrong_decisions_first():
    from imclass.evaluate.metrics import worst_mistakes

    labels = [0, 1, 1, 2, 0]
    probs = [[0.9, 0.1, 0.0], [0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.05, 0.9, 0.05], [0.4, 0.6, 0.0]]
    assert worst_mistakes(labels, probs, 10).tolist() == [3, 1, 4]  # 0.9, 0.7, 0.6 wrong
    assert worst_mistakes(labels, probs, 2).tolist() == [3, 1]
    assert worst_mistakes([0, 1], [[0.9, 0.1], [0.2, 0.8]], 5).tolist() == []
