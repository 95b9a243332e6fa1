"""The typer application objects; subcommand modules attach themselves to these."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="exposurekit",
    help="Unsupervised exposure correction: correct, evaluate, compare, synthesize, train and fuse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train a learned method (one subcommand per method).", no_args_is_help=True)
app.add_typer(train_app, name="train")
