"""Training leaves the process as it found it: torch's random stream and thread count."""

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from imclass.progress import Reporter
from imclass.train.config import TrainConfig
from imclass.train.run import train_run

TINY = TrainConfig(image_size=64, head_epochs=2, epochs=1, batch_size=8, workers=0)


def two_colours(folder):
    for name, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (folder / name).mkdir(parents=True)
        for index in range(8):
            shade = tuple(min(255, c + 6 * index) for c in colour)
            Image.new("RGB", (48, 48), shade).save(folder / name / f"{index}.png")
    return folder


@pytest.mark.slow
def test_training_keeps_the_callers_random_stream_and_threads_and_repeats(tmp_path):
    data = two_colours(tmp_path / "data")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(1234)
        expected_draw = torch.rand(3)
        torch.manual_seed(1234)
        for run in ("a", "b"):
            train_run(data, TINY, tmp_path / run, Reporter(quiet=True))
        # the caller's stream continues where it was, as if no training had happened
        assert torch.equal(torch.rand(3), expected_draw)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    first, second = (load_file(tmp_path / run / "model.safetensors") for run in ("a", "b"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)  # same seed, same model
