"""`imclass app`: a local web app to label images (and, later, review runs and try a model).

The app stands above train, evaluate and inference; only cli/app.py imports it.
"""

from imclass.app.server import create_app
from imclass.app.settings import AppSettings

__all__ = ["AppSettings", "create_app"]
