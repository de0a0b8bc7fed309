"""The learning-rate schedule: linear warm-up, cosine decay, a pure function of the step."""

import math

import pytest
import torch

from imclass.train.schedule import LrSchedule, warmup_cosine

PEAK, TOTAL, WARMUP = 0.1, 20, 4


def rates(schedule: LrSchedule, optimizer, steps: int) -> list[list[float]]:
    """Each param group's learning rate at each of the next steps."""
    seen = []
    for _ in range(steps):
        schedule.apply(optimizer)
        seen.append([group["lr"] for group in optimizer.param_groups])
    return seen


def sgd(*base_rates: float) -> torch.optim.SGD:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in base_rates]
    return torch.optim.SGD(groups)


def test_warm_up_is_linear_from_near_zero_to_the_peak():
    lrs = [r[0] for r in rates(LrSchedule([PEAK], TOTAL, WARMUP), sgd(PEAK), WARMUP + 1)]
    # steps 0..4 of a 4-step warm-up: 1/5, 2/5, ... 5/5 of the peak
    assert lrs == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1], rel=1e-12)
    assert lrs[0] <= PEAK / WARMUP


def test_after_warm_up_the_rate_follows_a_cosine_down_to_zero():
    lrs = [r[0] for r in rates(LrSchedule([PEAK], TOTAL, WARMUP), sgd(PEAK), TOTAL + 2)]
    decay = TOTAL - WARMUP
    expected = [PEAK * 0.5 * (1 + math.cos(math.pi * k / decay)) for k in range(decay)]
    assert lrs[WARMUP:TOTAL] == pytest.approx(expected, rel=1e-12)
    assert all(a > b for a, b in zip(lrs[WARMUP:TOTAL], lrs[WARMUP + 1 : TOTAL], strict=False))
    assert lrs[TOTAL - 1] == pytest.approx(0.000961, abs=1e-6)  # ~1 % of the peak, last step
    assert lrs[TOTAL:] == [0.0, 0.0]  # past the end it stays at zero
    assert lrs[WARMUP + decay // 2] == pytest.approx(PEAK / 2)  # halfway down: half the peak


def test_a_schedule_resumed_at_a_step_continues_the_same_curve():
    straight = rates(LrSchedule([PEAK], TOTAL, WARMUP), sgd(PEAK), TOTAL)
    for start in (0, 2, WARMUP, 11):
        resumed = rates(LrSchedule([PEAK], TOTAL, WARMUP, step=start), sgd(PEAK), TOTAL - start)
        assert resumed == straight[start:]


def test_param_groups_keep_their_ratio_at_every_step():
    body, head = 1e-4, 1e-3
    seen = rates(LrSchedule([body, head], TOTAL, WARMUP), sgd(body, head), TOTAL)
    for body_lr, head_lr in seen:
        assert head_lr == pytest.approx(10 * body_lr, rel=1e-12)
    assert [h for _, h in seen] == pytest.approx(
        [head * warmup_cosine(s, TOTAL, WARMUP) for s in range(TOTAL)], rel=1e-12
    )


def test_no_steps_leaves_the_base_rate_and_every_group_needs_a_base_rate():
    assert warmup_cosine(0, 0, 0) == 1.0
    with pytest.raises(ValueError):
        LrSchedule([PEAK], TOTAL, WARMUP).apply(sgd(PEAK, PEAK))
