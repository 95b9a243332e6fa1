"""``exposurekit synth``: write a multi-exposure sequence dataset from RAW files or sRGB photos."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exposurekit.cli.app import app


def parse_evs(text: str) -> list[float]:
    """``"-1.5,-1,0,1,1.5"`` or ``"msec"`` / ``"radiometric"`` → a list of EVs."""
    from exposurekit.isp.synth import DEFAULT_EVS, RADIOMETRIC_EVS

    t = text.strip().lower()
    if t in ("msec", "default"):
        return list(DEFAULT_EVS)
    if t in ("radiometric", "radiometry"):
        return list(RADIOMETRIC_EVS)
    try:
        evs = [float(v) for v in text.replace(" ", ",").split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, 'msec' or 'radiometric', got {text!r}") from None
    if not evs or len(set(evs)) != len(evs):
        raise typer.BadParameter(f"EVs must be distinct and non-empty, got {text!r}")
    return evs


@app.command("synth")
def synth_command(
    src: Path = typer.Argument(..., help="folder of sRGB photos or RAW files (or one file)"),
    dst: Path = typer.Option(..., "-o", "--output", help="output folder: one sub-folder per scene + manifest.json"),
    evs: str = typer.Option("msec", "--evs", help="comma-separated EVs, or 'msec' (-1.5,-1,0,1,1.5) or 'radiometric' (-3..3)"),
    source: str = typer.Option("srgb", "--from", help="raw (RAW files via rawpy, or bare Bayer PNGs) | srgb (unprocessing)"),
    seed: int = typer.Option(0, "--seed", help="base seed for per-scene random parameters"),
    long_side: int = typer.Option(None, "--long-side", help="shrink frames so the long side is at most this"),
    bit_depth: int = typer.Option(8, "--bit-depth", help="8 or 16 (PNG)"),
    transfer: str = typer.Option("bt709", "--transfer", help="RAW only: bt709 (rawpy default curve) | srgb"),
    bayer_pattern: str = typer.Option("RGGB", "--bayer-pattern", help="bare Bayer mosaics: top-left 2x2, e.g. RGGB, GRBG"),
    black_level: float = typer.Option(0.0, "--black-level", help="bare Bayer mosaics: black level"),
    white_level: float = typer.Option(None, "--white-level", help="bare Bayer mosaics: saturation (default: max)"),
    name: str = typer.Option(None, "--name", help="dataset name in the manifest (default: output folder name)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="re-render scenes already on disk"),
    workers: int = typer.Option(0, "--workers", "-j", help="render scenes in N processes (same output as 0)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Render every source at several exposures: DST/<scene>/ev-1.5.png ... ev+1.5.png, plus DST/manifest.json."""
    from exposurekit.isp.synth import SynthSettings, synthesize_dataset

    con = Console(stderr=True, soft_wrap=True)
    if source not in ("raw", "srgb"):
        raise typer.BadParameter(f"--from must be raw or srgb, got {source!r}")
    settings = SynthSettings(
        evs=parse_evs(evs), source=source, seed=seed, long_side=long_side, bit_depth=bit_depth,
        transfer=transfer, bayer_pattern=bayer_pattern, black_level=black_level, white_level=white_level,
    )
    with Progress(
        TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=con, disable=quiet, transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def on_progress(done: int, total: int, scene: str) -> None:
            bar.update(task, completed=done, total=total, description=scene)

        try:
            manifest = synthesize_dataset(src, dst, settings, name=name, overwrite=overwrite,
                                          progress=on_progress, workers=workers)
        except (FileNotFoundError, ValueError, ImportError) as exc:
            con.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    n = len(manifest["scenes"])
    skipped = sum(1 for s in manifest["scenes"] if s.get("skipped"))
    if not quiet:
        con.print(f"{n} scenes x {len(settings.evs)} EVs -> {dst}" + (f" ({skipped} already there)" if skipped else ""))
