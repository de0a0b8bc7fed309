"""The `imclass` command: one module per group of commands, which parse, call the library and
print. common.py holds the options they share; group.py turns errors into one line each."""

from __future__ import annotations

import click

from imclass.cli import (
    app,
    collect,
    compare,
    data,
    demo,
    doctor,
    evaluate,
    export,
    hard_negatives,
    learning_curve,
    predict,
    serve,
    sweep,
    train,
)
from imclass.cli.group import ImclassGroup


@click.group(
    cls=ImclassGroup,
    commands=[
        train.train,
        evaluate.evaluate,
        predict.predict,
        predict.models,
        demo.demo,
        *data.COMMANDS,
        app.app,
        collect.collect,
        learning_curve.learning_curve,
        hard_negatives.hard_negatives,
        serve.serve,
        sweep.sweep,
        compare.compare,
        export.export,
        doctor.doctor,
    ],
)
@click.version_option(package_name="imclass")
def main() -> None:
    """Turn a folder of your own photos into a strong image classifier."""
