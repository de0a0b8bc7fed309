"""Fixtures every test may ask for; the helpers they use live in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA, make_image_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets its own hash and decode cache folder."""
    monkeypatch.setenv("IMCLASS_CACHE_DIR", str(tmp_path / "imclass-cache"))


@pytest.fixture
def shared_tmp():
    """A folder any user may read (pytest's own is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def red_blue_run(tmp_path_factory) -> Path:
    """A real run that tells red from blue, trained once for every test that asks: 64 px, one
    fine-tuning epoch, no flip TTA; its predictions.csv lists its validation images, which sit
    in the data folder beside it (RUN/../data). Tests copy it before writing into it."""
    from imclass.progress import Reporter
    from imclass.train.config import TrainConfig
    from imclass.train.run import train_run

    root = tmp_path_factory.mktemp("red-blue")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IMCLASS_CACHE_DIR", str(root / "cache"))
        data = make_image_folder(root / "data", ("red", "blue"), per_class=8)
        config = TrainConfig(
            epochs=1, image_size=64, batch_size=8, flip_tta=False, wise_alpha=1.0, workers=0
        )
        train_run(data, config, root / "run", Reporter(quiet=True))
    return root / "run"
