"""``exposurekit correct``: batch correction of files, folders and globs, with progress and a summary."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exposurekit.cli.app import app

_FORMATS = {"keep": None, "png": ".png", "jpg": ".jpg", "tif": ".tif", "webp": ".webp"}


def parse_kwargs(items: list[str]) -> dict[str, object]:
    """``["a=1", "b=x"]`` → ``{"a": 1, "b": "x"}`` (values parsed as YAML scalars)."""
    import yaml

    out: dict[str, object] = {}
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip().replace("-", "_")] = yaml.safe_load(v)
    return out


@app.command("correct")
def correct_command(
    inputs: list[str] = typer.Argument(..., help="image files, folders or glob patterns"),
    outdir: Path = typer.Option(..., "-o", "--outdir", help="output folder (created if needed)"),
    method: str = typer.Option(None, "--method", "-m", help="method name (default: uec; see `exposurekit methods`)"),
    weights: Path = typer.Option(None, "--weights", "-w", help="weights file (.safetensors) for a learned method"),
    reference: Path = typer.Option(None, "--reference", help="well-exposed reference image (methods that take one, e.g. uec)"),
    ev: float = typer.Option(None, "--ev", help="exposure offset in EV relative to the method's default target"),
    param: list[str] = typer.Option([], "--param", "-p", help="method constructor argument KEY=VALUE (repeatable)"),
    fmt: str = typer.Option("keep", "--format", "-f", help="output format: keep|png|jpg|tif|webp"),
    quality: int = typer.Option(95, "--quality", help="JPEG/WebP quality"),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="descend into sub-folders"),
    overwrite: bool = typer.Option(False, "--overwrite", help="allow writing over an input file (never by default)"),
    device: str = typer.Option("cpu", "--device", help="torch device"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar, errors only"),
) -> None:
    """Correct the exposure of images. Exit code 1 if any input failed, after processing all others."""
    from exposurekit.io import (
        ImageData,
        ImageReadError,
        ImageWriteError,
        expand_inputs,
        read_image,
        write_image,
    )
    from exposurekit.io.write import output_path_for
    from exposurekit.methods.base import SequenceMethod
    from exposurekit.methods.registry import load_method

    con = Console(stderr=True, soft_wrap=True)
    if fmt not in _FORMATS:
        raise typer.BadParameter(f"--format must be one of {sorted(_FORMATS)}, got {fmt!r}")
    kwargs = parse_kwargs(param)
    if reference is not None:
        kwargs["reference"] = str(reference)
    if ev is not None:
        kwargs["ev"] = ev
    try:
        m = load_method(method, weights=weights, device=device, **kwargs)
    except (KeyError, ValueError, FileNotFoundError, ImportError) as exc:
        con.print(f"[red]error:[/red] {exc.args[0] if exc.args else exc}")
        raise typer.Exit(2) from None
    except TypeError as exc:
        con.print(f"[red]error:[/red] method {method!r} does not accept these options ({exc})")
        raise typer.Exit(2) from None
    if isinstance(m, SequenceMethod):
        con.print(f"[red]error:[/red] {m.name!r} fuses multi-exposure sequences; use `exposurekit fuse DIR -o out.png`")
        raise typer.Exit(2)
    files = expand_inputs(inputs, recursive=recursive)
    if not files:
        con.print("[red]error:[/red] no input images found")
        raise typer.Exit(2)
    ok, failed = 0, []
    t0 = time.perf_counter()
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[name]}")]
    with Progress(*columns, console=con, disable=quiet, transient=True) as bar:
        task = bar.add_task(f"correct ({m.name})", total=len(files), name="")
        for src in files:
            bar.update(task, name=src.name)
            dst = output_path_for(src, outdir, _FORMATS[fmt])
            try:
                img = read_image(src)
                out = m.correct_array(img.rgb)
                write_image(dst, ImageData(out, img.alpha, img.icc_profile, img.exif, img.format, img.notes),
                            quality=quality, protect=() if overwrite else (src,))
                ok += 1
                if img.notes and not quiet:
                    bar.console.print(f"[dim]{src}: {'; '.join(img.notes)}[/dim]")
            except (ImageReadError, ImageWriteError) as exc:
                failed.append(src)
                bar.console.print(f"[red]✗[/red] {exc}")
            except (RuntimeError, ValueError, MemoryError) as exc:
                failed.append(src)
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                bar.console.print(f"[red]✗[/red] {src}: correction failed ({msg})")
            bar.advance(task)
    dt = time.perf_counter() - t0
    summary = f"{ok} corrected, {len(failed)} failed, {dt:.1f} s ({m.name}) → {outdir}"
    con.print(("[green]" if not failed else "[yellow]") + summary)
    if failed:
        raise typer.Exit(1)
