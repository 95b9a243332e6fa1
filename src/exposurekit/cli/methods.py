"""``exposurekit methods``: list the registered methods."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from exposurekit.cli.app import app


@app.command("methods")
def methods_command(
    pattern: str = typer.Argument("*", help="fnmatch filter, e.g. 'clip*'"),
) -> None:
    """List the registered methods with kind, trainability and shipped weights."""
    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.methods.registry import default_method_name, describe_methods

    default = default_method_name()
    table = Table(title="exposurekit methods")
    for col in ("name", "kind", "trainable", "weights", "summary"):
        table.add_column(col)
    import fnmatch

    for info in describe_methods():
        if not fnmatch.fnmatch(info.name, pattern):
            continue
        try:  # variants of one class may ship different files (set in __init__)
            wfile = getattr(info.cls(**info.kwargs), "default_weights", None)
        except Exception:
            wfile = getattr(info.cls, "default_weights", None)
        shipped = "shipped" if wfile and (WEIGHTS_DIR / wfile).exists() else ("none" if info.trainable else "-")
        name = f"{info.name} (default)" if info.name == default else info.name
        table.add_row(name, info.kind, "yes" if info.trainable else "no", shipped, info.summary)
    Console().print(table)
