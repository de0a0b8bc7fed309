"""`imclass serve RUN_DIR`: the run's model as an HTTP prediction service under Uvicorn."""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace

import click

from imclass.cli.common import PATH, listen, runtime_option, stdout

MEGABYTE = 1024 * 1024


@click.command("serve")
@click.argument("run_dir", type=PATH)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="server processes, each with its own copy of the model, taking connections once it "
    "is loaded",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="the runtime's threads in each process [default: $OMP_NUM_THREADS when set, else "
    "the cores this process may use, divided among the workers]",
)
@click.option(
    "--max-request-mb",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="a request's body, every image together (base64 in JSON adds a third)",
)
@click.option("--max-images", default=32, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--max-batch",
    default=32,
    show_default=True,
    type=click.IntRange(min=1),
    help="images of concurrent requests run through the model together",
)
@click.option(
    "--batch-window-ms",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="how long an image waits for others to join its batch",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="seconds a request's body may take to arrive, and then its answer",
)
@runtime_option
def serve(run_dir, host, port, workers, threads, runtime, **limits):
    """Serve RUN_DIR's model over HTTP: POST /v1/predict, GET /v1/model, /healthz, /readyz,
    and the API's documentation at /docs."""
    import uvicorn

    from imclass.errors import RunDirError
    from imclass.serve import ServeSettings, create_service

    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such folder; give a run directory `imclass train` wrote")
    settings = ServeSettings(
        run_dir=run_dir.resolve(),
        max_request_bytes=int(limits["max_request_mb"] * MEGABYTE),
        max_images=limits["max_images"],
        max_batch=limits["max_batch"],
        batch_window_s=limits["batch_window_ms"] / 1000,
        timeout_s=limits["timeout"],
        runtime=runtime,
        threads=threads or _default_threads(workers),
        answer_while_loading=workers == 1,
    )
    with listen(host, port) as listener:  # the real port, when --port 0 asks for any free one
        shown = f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{listener.getsockname()[1]}"
        stdout.print(f"imclass serve: {address}")
        stdout.print(f"loading {run_dir}: {address}/readyz answers 200 once it is ready")
        sys.stdout.flush()
        if workers > 1:
            settings = replace(settings, runtime=_exported_once(run_dir, runtime))
        config = uvicorn.Config(
            functools.partial(create_service, settings),  # pickled to each worker process
            factory=True,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        _run(config, listener)


def _run(config, listener) -> None:
    """Serve until Ctrl-C or SIGTERM, which end the server gracefully: a normal end (0)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from imclass.progress import forget_interrupt

    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # the signal Uvicorn re-raises after its graceful shutdown
        forget_interrupt()  # handled: a normal end, not an interrupted command
    stdout.print("imclass serve: stopped")


def _exported_once(run_dir, runtime: str) -> str:
    """The runtime every worker process will use, the ONNX export made first when one is
    needed: several workers exporting at once would each do the work (and each warn). It is
    made in a child process, so the supervisor, which only watches the workers, never loads
    torch or ONNX Runtime (~0.5 GB it would hold for the life of the service)."""
    if runtime == "torch":
        return runtime
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as child:
        return child.submit(_load_and_tell_runtime, run_dir, runtime).result()


def _load_and_tell_runtime(run_dir, runtime: str) -> str:
    from imclass.inference.runtime import load_backend
    from imclass.progress import Reporter

    return load_backend(run_dir, runtime, reporter=Reporter()).runtime


def _default_threads(workers: int) -> int | None:
    """None (torch's own, which follows OMP_NUM_THREADS) when OMP_NUM_THREADS is set; else
    the cores this process may use, shared among the workers."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    from imclass.data.workers import cpu_cores

    return max(1, cpu_cores() // workers)
