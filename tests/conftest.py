"""Fixtures every test may ask for; the helpers they use live in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA

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
