"""Fixtures every test may ask for; the helpers they use live in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import (
    AS_ROOT,
    SHARED_DATA,
    PostgresServer,
    make_image_folder,
    postgres_binaries,
)

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


@pytest.fixture
def postgresql():
    """A PostgreSQL server of the test's own (Debian's postgresql package), stopped after it."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if AS_ROOT and (shutil.which("runuser") is None or not _user_exists("postgres")):
        pytest.skip("initdb refuses root, and there is no postgres user (or runuser) to run it")
    with PostgresServer(binaries) as server:
        yield server


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


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
