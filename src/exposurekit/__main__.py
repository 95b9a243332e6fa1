"""``python -m exposurekit`` runs the CLI."""

from exposurekit.cli.main import main

main()
