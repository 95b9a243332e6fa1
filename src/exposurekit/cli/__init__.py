"""The ``exposurekit`` command line (typer + rich)."""
