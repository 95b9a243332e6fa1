"""``exposurekit compare``: HTML page and PNG grid (input | each method | target) with histograms."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from exposurekit.cli.app import app


@app.command("compare")
def compare_command(
    inputs: list[str] = typer.Argument(None, help="image files, folders or globs (or use --dataset)"),
    methods: str = typer.Option(..., "--methods", "-m", help="comma-separated method names"),
    outdir: Path = typer.Option(..., "-o", "--outdir", help="output folder (index.html, grid.png, images/)"),
    dataset: str = typer.Option(None, "--dataset", "-d", help="dataset spec instead of inputs (see `evaluate`)"),
    targets: Path = typer.Option(None, "--targets", help="folder of ground truths matched to inputs by file stem"),
    long_side: int = typer.Option(512, "--long-side", help="long side of the shown (and corrected) images"),
    limit: int = typer.Option(12, "--limit", help="at most this many images"),
    grid_rows: int = typer.Option(6, "--grid-rows", help="images in the PNG grid"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Compare methods side by side on a few images."""
    from exposurekit.data.benchmarks import Sample, load_pairs
    from exposurekit.evaluate.compare import compare_methods
    from exposurekit.io import expand_inputs
    from exposurekit.methods import load_method

    con = Console(stderr=True)
    if dataset:
        samples = load_pairs(dataset)
    elif inputs:
        tmap = {}
        if targets is not None:
            tmap = {p.stem.lower(): p for p in expand_inputs([targets])}
        samples = [Sample(p, tmap.get(p.stem.lower()), p.stem) for p in expand_inputs(inputs)]
    else:
        raise typer.BadParameter("give image inputs or --dataset")
    samples = samples[:limit]
    if not samples:
        con.print("[red]no images found[/red]")
        raise typer.Exit(1)
    ms = []
    for name in [m.strip() for m in methods.split(",") if m.strip()]:
        try:
            ms.append(load_method(name, device=device))
        except KeyError as exc:
            con.print(f"[red]{exc.args[0]}[/red]")
            raise typer.Exit(2) from None
    out = compare_methods(samples, ms, outdir, long_side=long_side, grid_rows=grid_rows, device=device)
    con.print(f"wrote {out['html']} and {out['grid']}")
