"""Entry point: imports every subcommand module so that it registers on :data:`app`."""

from __future__ import annotations

import importlib
import sys

from exposurekit.cli.app import app

# Each module adds its commands to `app` (or `train_app`). Keep this list sorted.
_COMMAND_MODULES = [
    "exposurekit.cli.correct",
    "exposurekit.cli.env",
    "exposurekit.cli.info",
    "exposurekit.cli.methods",
]
_OPTIONAL_COMMAND_MODULES = [
    "exposurekit.cli.compare",
    "exposurekit.cli.evaluate",
    "exposurekit.cli.explain",
    "exposurekit.cli.fuse",
    "exposurekit.cli.synth",
    "exposurekit.cli.train_clip",
    "exposurekit.cli.train_loopexpose",
    "exposurekit.cli.train_simr",
    "exposurekit.cli.train_uec",
    "exposurekit.cli.train_zerodce",
]


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name)
    for name in _OPTIONAL_COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports is missing
                raise


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (``exposurekit ...``)."""
    _load_commands()
    app(args=argv if argv is not None else sys.argv[1:], prog_name="exposurekit")


if __name__ == "__main__":
    main()
