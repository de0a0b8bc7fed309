import numpy as np
import torch
from tests.helpers import image_set, make_image_folder

from imclass.data.dataset import open_data
from imclass.data.preview import CAPTION, augment_grid, pick_images
from imclass.data.transforms import Preprocessing

PRE = Preprocessing(64, (0.5,) * 3, (0.5,) * 3, "bicubic", 0.875)


def test_grid_has_a_row_per_image_and_a_column_per_version(tmp_path):
    source = open_data(make_image_folder(tmp_path, ("red", "blue", "green"), per_class=4))
    grid = augment_grid(source.all_images(), source.classes, "overhead", PRE, n=5, variants=3)
    assert grid.size == (4 * 64, 5 * (64 + CAPTION))


def test_picked_images_cover_every_class():
    picked = pick_images(image_set([0] * 10 + [1] * 10 + [2] * 2), 6, seed=0)
    assert sorted(i // 10 for i in picked) == [0, 0, 1, 1, 2, 2]


def test_grid_is_seeded_and_leaves_torch_global_random_state_alone(tmp_path):
    source = open_data(make_image_folder(tmp_path, ("red", "blue"), per_class=3))
    before = torch.get_rng_state()
    grids = [
        np.asarray(augment_grid(source.all_images(), source.classes, "photo", PRE, seed=s))
        for s in (1, 1, 2)
    ]
    assert torch.equal(torch.get_rng_state(), before)
    assert np.array_equal(grids[0], grids[1]) and not np.array_equal(grids[0], grids[2])
