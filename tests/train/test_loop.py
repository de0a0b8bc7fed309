"""One fine-tuning epoch on a tiny real network: gradients summed over pieces of a batch are the
whole batch's gradient, and the reported loss and accuracy are the batch's."""

import copy

import torch
from torch import nn

from imclass.data.loader import Batch
from imclass.inference.device import pieces
from imclass.train.loop import finetune_epoch, train_keeping_batchnorm_statistics
from imclass.train.schedule import LrSchedule
from imclass.train.task import SingleLabel

CPU = torch.device("cpu")
LR = 0.5


def tiny_network() -> nn.Module:
    """Conv, BatchNorm with running statistics far from a batch's, pooling, a linear head."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=8, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    model[1].running_mean.copy_(torch.tensor([0.3, -0.2, 0.1, 0.0]))
    model[1].running_var.copy_(torch.tensor([2.0, 0.5, 1.0, 3.0]))
    return model


def batch_of(size: int, seed: int = 1) -> Batch:
    """size random 448-px images: large enough that the CPU runs them two at a time."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(size, 3, 448, 448, generator=generator)
    labels = torch.arange(size) % 2
    return Batch(inputs, labels, torch.arange(size))


def one_epoch(model: nn.Module, loader) -> tuple:
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    schedule = LrSchedule([LR], total_steps=len(loader), warmup_steps=0)
    advanced = []
    stats, failures = finetune_epoch(
        model,
        optimizer,
        schedule,
        loader,
        CPU,
        task=SingleLabel(2),
        advance=lambda n, text: advanced.append(n),
    )
    return stats, failures, advanced, schedule


def test_a_batch_in_pieces_updates_the_weights_as_the_whole_batch_would():
    batch = batch_of(6)
    assert pieces(batch.inputs, CPU) == 2  # so the batch is run as three pieces
    model, reference = tiny_network(), tiny_network()
    start = copy.deepcopy(model.state_dict())

    stats, failures, advanced, _ = one_epoch(model, [batch])

    train_keeping_batchnorm_statistics(reference)
    logits = reference(batch.inputs)
    loss = nn.functional.cross_entropy(logits, batch.labels)
    loss.backward()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter -= LR * parameter.grad
    expected = reference.state_dict()
    for name, after in model.state_dict().items():
        torch.testing.assert_close(after, expected[name], rtol=1e-5, atol=1e-6, msg=name)
    assert (model[0].weight - start["0.weight"]).abs().max() > 1e-3  # the step moved them
    assert torch.equal(model[1].running_mean, start["1.running_mean"])  # statistics frozen
    assert abs(stats.loss - loss.item()) < 1e-6
    assert stats.accuracy == int((logits.argmax(1) == batch.labels).sum()) / 6
    assert (stats.images, failures, advanced) == (6, [], [6])


def test_a_batch_of_one_is_skipped_but_still_takes_its_step_of_the_schedule():
    model = tiny_network()
    start = copy.deepcopy(model.state_dict())
    lone = Batch(torch.randn(1, 3, 64, 64), torch.tensor([1]), torch.tensor([7]), [])

    stats, failures, advanced, schedule = one_epoch(model, [lone])

    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.items())
    assert (stats.images, stats.loss, stats.accuracy) == (0, 0.0, 0.0)
    assert (failures, advanced, schedule.step) == ([], [1], 1)


def test_a_batch_of_two_with_one_unreadable_still_steps():
    """A batch is counted with its unreadable files: as large in every torchrun process, which
    must all step together."""
    model = tiny_network()
    start = copy.deepcopy(model.state_dict())
    half = Batch(torch.randn(1, 3, 64, 64), torch.tensor([1]), torch.tensor([7]), [(8, "cut")])

    stats, failures, advanced, schedule = one_epoch(model, [half])

    assert (model[0].weight - start["0.weight"]).abs().max() > 1e-3
    assert (stats.images, failures, advanced, schedule.step) == (1, [(8, "cut")], [2], 1)
