"""`imclass serve`: one trained run's predictions over HTTP (service.py), images of concurrent
requests run together (batcher.py), the model loaded in the background (model.py, runtime.py).
Stands on inference and web/; only the CLI uses it.

    from imclass.serve import ServeSettings, create_service
    app = create_service(ServeSettings(run_dir=Path("runs/pets")))  # an ASGI app for Uvicorn
"""

from imclass.serve.service import create_service
from imclass.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_service"]
