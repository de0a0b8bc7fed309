"""Shared test helpers: tiny real image files built on the fly, and the shared data sets."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Colours far apart, so a few epochs on 48-px images separate the classes reliably.
CLASS_COLOURS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 60, 200)}


def colour_image(colour, size: int = 48, seed: int = 0) -> Image.Image:
    """A noisy image dominated by colour, with a random darker square (no two alike)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size, size, 3)), 0, 255)
    x, y = rng.integers(0, size // 2, 2)
    pixels[y : y + size // 3, x : x + size // 3] *= 0.5
    return Image.fromarray(pixels.astype(np.uint8))


def make_image_folder(
    root: Path, classes=("red", "blue"), per_class: int = 10, size: int = 48, ext: str = ".png"
) -> Path:
    """root/<class>/<class>_<i><ext>, images generated from the class colour."""
    for c_index, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            colour_image(CLASS_COLOURS[name], size, seed=1000 * c_index + i).save(
                root / name / f"{name}_{i}{ext}"
            )
    return root


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "data")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


def scene(seed: int, size=(320, 240)) -> Image.Image:
    """A smooth random photo-like scene; different seeds give visually distinct images."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)


def next_frame(image: Image.Image, seed: int) -> Image.Image:
    """The 'next video frame': shifted one pixel, with sensor noise."""
    pixels = np.roll(np.asarray(image).astype(float), 1, axis=1)
    pixels += np.random.default_rng(seed).normal(0, 4, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets its own hash and decode cache folder."""
    monkeypatch.setenv("IMCLASS_CACHE_DIR", str(tmp_path / "imclass-cache"))


def as_a_user(command: list[str]) -> list[str]:
    """command as this user, or as `nobody` when this is root (whom no permission bit stops), so
    permission tests run in a root container too."""
    if not AS_ROOT:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("root ignores permissions; setpriv is needed to run as another user")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]


@pytest.fixture
def shared_tmp():
    """A folder any user may read (pytest's own is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)
