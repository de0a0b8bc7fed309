"""The model behind a service, loaded in a background thread from startup on: the server
answers /healthz at once and /readyz with 503 until the model can answer (k8s sends traffic only
then). A model that cannot be loaded keeps /readyz at 503 with the reason, printed once on
stderr too, rather than ending the process: during a rolling update the old replicas go on
serving."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from imclass.errors import ImclassError
from imclass.serve.settings import ServeSettings

if TYPE_CHECKING:
    from imclass.serve.runtime import ModelRuntime


class ModelSlot:
    """ModelSlot(settings).start(); then .runtime (None until loaded), .error (why it could
    not be), .state ("loading", "ready" or "failed"); stop() at shutdown."""

    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.runtime: ModelRuntime | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._load, name="imclass-loader", daemon=True)

    @property
    def state(self) -> str:
        if self.runtime is not None:
            return "ready"
        return "loading" if self.error is None else "failed"

    def start(self) -> None:
        self._thread.start()

    def wait(self) -> None:
        """Until the model is loaded or has failed to."""
        self._thread.join()

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            # imported here, in this thread: it imports torch, which takes seconds
            from imclass.serve.runtime import ModelRuntime

            self.runtime = ModelRuntime.load(self.settings)
        except ImclassError as error:
            self.error = f"the model cannot be served: {error}"
        except Exception as error:  # noqa: BLE001 - said by /readyz, rather than lost in a thread
            self.error = f"the model cannot be served: {type(error).__name__}: {error}"
        if self.error is not None:
            print(f"error: {self.error}", file=sys.stderr, flush=True)
            return
        seconds = time.monotonic() - started
        print(f"imclass serve: ready in {seconds:.1f} s (pid {os.getpid()})", flush=True)
