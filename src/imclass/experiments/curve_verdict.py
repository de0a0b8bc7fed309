"""Would more images help? The verdict a learning curve ends with, computed from its points.

The gain is measured over the curve's last doubling: from the size nearest half the largest
(on a log scale) to the largest, in accuracy points, divided by log2 of their ratio (so a
10 -> 26 step counts as 1.4 doublings). It is taken per repeat, since each repeat's subsets are
nested and its two points differ only by the images added; the spread is the standard deviation
of those per-repeat gains. With 2 or 3 repeats that spread is a rough figure, and it leaves out
the held-out side's own sampling error, which every point shares (one image of N is 100/N
points).

- still rising: a gain of RISING points per doubling or more, larger than its spread;
- will help little: a gain under RISING, with a spread under RISING too;
- unclear: anything else (the repeats disagree by more than the gain).

A saturating curve acc(n) = a - b * n^-c, fitted to every point once there are MIN_FIT_SIZES
sizes or more, adds what it expects the next doubling to gain; three parameters fitted to fewer
sizes would pass through the means and say nothing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Accuracy points per doubling of the images per class. Under this, doubling the collecting
# and labelling buys less than one right answer in fifty: "help little".
RISING = 2.0
MIN_FIT_SIZES = 4
TOP_CLASSES = 3


@dataclass(frozen=True)
class Gain:
    """Points gained per doubling from `start` to `end` images per class: the mean over repeats
    and their standard deviation (0 with one repeat)."""

    mean: float
    spread: float
    start: int
    end: int
    repeats: int

    def text(self) -> str:
        return f"{self.mean:+.1f}" + (f" ± {self.spread:.1f}" if self.repeats > 1 else "")


@dataclass(frozen=True)
class SaturatingFit:
    """acc(n) = a - b * n^-c, in accuracy points."""

    a: float
    b: float
    c: float

    def __call__(self, n):
        return self.a - self.b * np.power(np.asarray(n, dtype=float), -self.c)

    def doubling_gain(self, n: float) -> float:
        return float(self(2 * n) - self(n))


@dataclass(frozen=True)
class Verdict:
    kind: str  # "rising", "saturated" or "unclear"
    gain: Gain
    text: str


def last_doubling(sizes, values) -> Gain:
    """The gain over the last doubling of values, (sizes x repeats) fractions such as
    accuracy, in points (x 100) per doubling."""
    sizes, values = np.asarray(sizes, dtype=float), np.asarray(values, dtype=float)
    start = _half_way(sizes)
    per_repeat = 100 * (values[-1] - values[start]) / np.log2(sizes[-1] / sizes[start])
    spread = float(per_repeat.std(ddof=1)) if len(per_repeat) > 1 else 0.0
    return Gain(
        float(per_repeat.mean()), spread, int(sizes[start]), int(sizes[-1]), len(per_repeat)
    )


def _half_way(sizes: np.ndarray) -> int:
    """The index of the size nearest half the largest on a log scale, the largest excluded."""
    return int(np.argmin(np.abs(np.log2(sizes[:-1]) - np.log2(sizes[-1] / 2))))


def fit_saturating(sizes, values) -> SaturatingFit | None:
    """a - b * n^-c through every (size, repeat) point, a at most 100; None with fewer than
    MIN_FIT_SIZES sizes or when the fit does not converge."""
    from scipy.optimize import OptimizeWarning, curve_fit

    values = 100 * np.asarray(values, dtype=float)
    if len(sizes) < MIN_FIT_SIZES:
        return None
    n = np.repeat(np.asarray(sizes, dtype=float), values.shape[1])
    y = values.ravel()
    start = (min(y.max(), 100.0), max(y.max() - y.min(), 1.0) * np.sqrt(n.min()), 0.5)
    try:
        with warnings.catch_warnings():  # a flat curve leaves b's covariance undefined
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, b, c), _ = curve_fit(
                _saturating, n, y, p0=start, bounds=([0, 0, 0.05], [100, np.inf, 3])
            )
    except (RuntimeError, ValueError):
        return None
    return SaturatingFit(float(a), float(b), float(c))


def _saturating(n, a, b, c):
    return a - b * np.power(n, -c)


def judge(sizes, scores, fit: SaturatingFit | None = None) -> Verdict:
    """The verdict on (sizes x repeats) accuracies: still rising, will help little or unclear."""
    gain = last_doubling(sizes, scores)
    said = f"accuracy gained {gain.text()} points per doubling from {gain.start} to {gain.end}"
    said += " images per class" + (" (one repeat: no spread)" if gain.repeats == 1 else "")
    if gain.mean >= RISING and gain.mean > gain.spread:
        step = f"about {gain.end} more per class (to {2 * gain.end}) is the next useful step"
        if fit is not None:
            step += f"; the fitted curve expects {fit.doubling_gain(gain.end):+.1f} points from it"
        return Verdict("rising", gain, f"{said}: still rising; {step}")
    if gain.mean < RISING and gain.spread < RISING:
        return Verdict("saturated", gain, f"{said}: more images of this kind will help little")
    return Verdict(
        "unclear",
        gain,
        f"{said}, no more than its spread across repeats: unclear; more --repeats would tell",
    )


def rising_classes(sizes, recalls: dict) -> list[tuple[str, Gain]]:
    """The TOP_CLASSES classes whose recall (sizes x repeats) gains most over the last
    doubling, RISING points or more: the ones more images would help most."""
    gains = [(name, last_doubling(sizes, values)) for name, values in recalls.items()]
    rising = [(name, gain) for name, gain in gains if gain.mean >= RISING]
    return sorted(rising, key=lambda item: -item[1].mean)[:TOP_CLASSES]


def rising_classes_text(rising: list[tuple[str, Gain]]) -> str:
    if not rising:
        return f"no class's recall gains {RISING:g} points or more per doubling"
    shown = ", ".join(f"{name} {gain.text()}" for name, gain in rising)
    return f"classes still rising most (recall points per doubling): {shown}"
