import pytest
import torch
from torch import nn

from imclass.experiments.pareto import pareto_front
from imclass.experiments.speed import SpeedSettings, count_gflops, count_parameters, measure_speed


def test_pareto_front_on_a_hand_made_table():
    table = [
        {"name": "fast", "accuracy": 0.80, "latency_ms_median": 5.0},
        {"name": "slow and best", "accuracy": 0.95, "latency_ms_median": 40.0},
        {"name": "dominated", "accuracy": 0.85, "latency_ms_median": 30.0},
        {"name": "middle", "accuracy": 0.90, "latency_ms_median": 20.0},
        {"name": "middle's twin", "accuracy": 0.90, "latency_ms_median": 20.0},
        {"name": "as accurate, slower", "accuracy": 0.90, "latency_ms_median": 25.0},
        {"name": "as fast, less accurate", "accuracy": 0.70, "latency_ms_median": 5.0},
        {"name": "skipped", "accuracy": None, "latency_ms_median": None},
        {"name": "no latency", "accuracy": 0.99, "latency_ms_median": float("nan")},
    ]
    front = [row["name"] for row, on in zip(table, pareto_front(table), strict=True) if on]
    assert front == ["fast", "slow and best", "middle", "middle's twin"]


def test_pareto_front_takes_any_two_columns():
    table = [{"f1": 0.5, "gflops": 1.0}, {"f1": 0.6, "gflops": 2.0}, {"f1": 0.4, "gflops": 3.0}]
    assert pareto_front(table, higher="f1", lower="gflops") == [True, True, False]
    assert pareto_front([]) == []


def test_flops_and_parameters_of_a_known_network():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 30 * 30, 2))
    conv = 2 * (8 * 30 * 30) * (3 * 3 * 3)  # a multiply-add per kernel weight and output
    linear = 2 * (8 * 30 * 30) * 2
    assert count_gflops(net, 32) == pytest.approx((conv + linear) / 1e9)
    assert count_parameters(net) == (8 * 27 + 8) + (8 * 30 * 30 * 2 + 2)


def test_speed_figures_are_measured_on_the_device_asked_for():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    settings = SpeedSettings(latency_calls=7, warmup_calls=1, batch_size=4, batch_calls=2)
    speed = measure_speed(net, 32, torch.device("cpu"), settings)
    assert 0 < speed.latency_ms_median <= speed.latency_ms_p95
    assert speed.throughput_ips > 0
    assert (speed.device, speed.threads) == ("cpu", torch.get_num_threads())
    assert (speed.latency_calls, speed.batch_size) == (7, 4)
