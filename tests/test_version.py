"""The version is declared once, in pyproject.toml, and read from the installed metadata."""

from pathlib import Path

import tomllib

import imclass
from imclass._version import __version__


def test_the_version_is_pyprojects():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert imclass.__version__ == __version__ == pyproject["project"]["version"]
