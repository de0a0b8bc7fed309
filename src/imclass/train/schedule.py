"""Learning-rate schedule: linear warm-up, then cosine decay to zero; a pure function of step."""

from __future__ import annotations

import math
from dataclasses import dataclass


def warmup_cosine(step: int, total_steps: int, warmup_steps: int) -> float:
    """The multiplier of the base learning rate at step (0-based) of total_steps."""
    if total_steps <= 0:
        return 1.0
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def set_learning_rates(optimizer, base_rates: list[float], multiplier: float) -> None:
    for group, base in zip(optimizer.param_groups, base_rates, strict=True):
        group["lr"] = base * multiplier


@dataclass
class LrSchedule:
    """Per-group base rates with warm-up + cosine over the steps of one phase."""

    base_rates: list[float]
    total_steps: int
    warmup_steps: int
    step: int = 0

    def apply(self, optimizer) -> None:
        multiplier = warmup_cosine(self.step, self.total_steps, self.warmup_steps)
        set_learning_rates(optimizer, self.base_rates, multiplier)
        self.step += 1
