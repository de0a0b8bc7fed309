"""`imclass app`: the local web app (Label page), printed as a URL with its access token."""

from __future__ import annotations

import sys

import click

from imclass.cli.common import PATH, listen, stdout


@click.command("app")
@click.argument("data", type=PATH, required=False)
@click.option(
    "--run",
    "runs",
    type=PATH,
    multiple=True,
    help="a run directory to show (repeat); the first one's predictions are the Label page's "
    "suggestions",
)
@click.option("--runs-dir", type=PATH, help="a folder of run directories")
@click.option(
    "--labels", type=PATH, help="the annotation file to write [default: DATA/annotations.tsv]"
)
@click.option("--classes", default="", help="classes in key order, e.g. cat,dog,other")
@click.option("--multilabel", is_flag=True, help="several classes per image (toggle, then Enter)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
def app(data, runs, runs_dir, labels, classes, multilabel, host, port):
    """Label images in the browser: a local app, reached by the printed URL."""
    import uvicorn

    from imclass.app import AppSettings, create_app
    from imclass.app.security import new_token

    with listen(host, port) as listener:  # the real port, when --port 0 asks for any free one
        settings = AppSettings(
            token=new_token(),
            data=data,
            labels=labels,
            multilabel=multilabel,
            classes=tuple(c.strip() for c in classes.split(",") if c.strip()),
            runs=tuple(runs),
            runs_dir=runs_dir,
            host=host,
            port=listener.getsockname()[1],
        )
        web_app = create_app(settings)
        shown = f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{settings.port}{settings.start_page}?token={settings.token}"
        stdout.print(f"imclass app: {address}")
        if settings.labels_file is not None:
            stdout.print(f"labels are saved to {settings.labels_file}")
        for warning in web_app.state.warnings:
            stdout.print(warning)
        sys.stdout.flush()
        config = uvicorn.Config(web_app, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[listener])
