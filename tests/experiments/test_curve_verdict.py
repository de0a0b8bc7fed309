import numpy as np
import pytest

from imclass.experiments.curve_verdict import (
    fit_saturating,
    judge,
    last_doubling,
    rising_classes,
    rising_classes_text,
)

SIZES = [5, 10, 20, 40, 80]


def saturating(n, a=95.0, b=60.0, c=0.8):
    return (a - b * np.power(n, -c)) / 100


def test_last_doubling_is_per_repeat_gain_per_doubling():
    scores = np.array([[0.5, 0.6], [0.6, 0.6], [0.7, 0.8]])  # sizes 5, 10, 40
    gain = last_doubling([5, 10, 40], scores)
    assert (gain.start, gain.end, gain.repeats) == (10, 40, 2)  # 10 is nearest 40 / 2
    assert gain.mean == pytest.approx(7.5)  # +10 and +20 points over two doublings
    assert gain.spread == pytest.approx(np.std([5.0, 10.0], ddof=1))


def test_a_saturated_curve_will_help_little():
    noise = np.array([[0.0, 0.01, -0.01]] * 4 + [[0.005, 0.0, -0.005]])
    scores = saturating(np.array(SIZES, dtype=float))[:, None] + noise
    verdict = judge(SIZES, scores, fit_saturating(SIZES, scores))
    assert verdict.kind == "saturated"  # 93.20 - 91.87 = 1.33; per repeat +0.5, -1.0, +0.5
    assert verdict.text == (
        "accuracy gained +1.3 ± 0.9 points per doubling from 40 to 80 images per class: "
        "more images of this kind will help little"
    )


def test_a_rising_curve_says_what_to_collect_next():
    scores = saturating(np.array(SIZES, dtype=float), b=200, c=0.6)[:, None] + [[-0.01, 0.01]]
    fit = fit_saturating(SIZES, scores)
    assert (fit.a, fit.b, fit.c) == pytest.approx((95, 200, 0.6), rel=1e-3)
    verdict = judge(SIZES, scores, fit)
    assert verdict.kind == "rising"
    assert verdict.text.endswith(
        "still rising; about 80 more per class (to 160) is the next useful step; "
        f"the fitted curve expects +{fit.doubling_gain(80):.1f} points from it"
    )
    assert fit.doubling_gain(80) == pytest.approx(200 * (80**-0.6 - 160**-0.6), rel=1e-3)


def test_repeats_that_disagree_more_than_the_gain_are_unclear():
    scores = np.array([[0.70, 0.80, 0.75], [0.80, 0.74, 0.77]])
    verdict = judge([10, 20], scores)
    assert verdict.kind == "unclear"
    assert "+2.0 ± 8.0 points" in verdict.text and verdict.text.endswith(
        "more --repeats would tell"
    )


def test_one_repeat_rises_without_a_spread_and_no_fit_under_four_sizes():
    scores = np.array([[0.5], [0.7]])
    assert fit_saturating([2, 4], scores) is None
    assert judge([2, 4], scores).text == (
        "accuracy gained +20.0 points per doubling from 2 to 4 images per class (one repeat: "
        "no spread): still rising; about 4 more per class (to 8) is the next useful step"
    )


def test_the_classes_still_rising_most_come_first():
    recalls = {
        "flat": np.array([[0.9, 0.9], [0.91, 0.9]]),
        "slow": np.array([[0.5, 0.6], [0.6, 0.65]]),
        "fast": np.array([[0.2, 0.3], [0.6, 0.5]]),
    }
    rising = rising_classes([10, 20], recalls)
    assert [name for name, _ in rising] == ["fast", "slow"]
    assert rising_classes_text(rising) == (
        "classes still rising most (recall points per doubling): fast +30.0 ± 14.1, slow +7.5 ± 3.5"
    )
    assert rising_classes_text([]) == "no class's recall gains 2 points or more per doubling"
