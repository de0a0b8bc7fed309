"""The version, read once from the installed package's metadata (pyproject.toml's `version`).

A module of its own so that library modules can record it without importing the package root.
"""

from importlib import metadata

try:
    __version__ = metadata.version("imclass")
except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"
