"""``exposurekit fuse``: fuse a folder of bracketed frames of one scene into one image."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from exposurekit.cli.app import app

_ALIASES = {"loopexpose": "loopexpose-fusion", "mertens": "mertens-torch", "mertens-opencv": "mertens"}


def read_sequence(folder: Path) -> tuple[list[np.ndarray], list, int]:
    """Read every image of ``folder`` (sorted by name) as ``(H, W, 3)`` arrays of one size and dtype.

    Returns:
        ``(frames, ImageData records, index of the median-brightness frame)``; frames are returned
        in file-name order; 16-bit frames stay 16-bit unless the folder mixes bit depths (then 8-bit).

    Raises:
        ValueError: fewer than one frame, or frames of different sizes.
    """
    from exposurekit.io import expand_inputs, read_image

    files = expand_inputs([str(folder)])
    if not files:
        raise ValueError(f"{folder}: no images found")
    records = [read_image(f) for f in files]
    sizes = {r.rgb.shape[:2] for r in records}
    if len(sizes) > 1:
        raise ValueError(f"{folder}: frames differ in size ({sorted(sizes)}); a bracket must be aligned and "
                         "of one size")
    dtypes = {r.rgb.dtype for r in records}
    frames = [r.rgb for r in records]
    if len(dtypes) > 1:
        frames = [(f.astype(np.float32) / 257.0).round().astype(np.uint8) if f.dtype == np.uint16 else f
                  for f in frames]
        frames = [(f * 255 + 0.5).clip(0, 255).astype(np.uint8) if f.dtype == np.float32 else f for f in frames]
    means = [float(f[::8, ::8].astype(np.float32).mean()) for f in frames]
    mid = int(np.argsort(means)[len(means) // 2])
    return frames, records, mid


@app.command("fuse")
def fuse_command(
    sequence_dir: Path = typer.Argument(..., help="folder holding the frames of one scene (any number >= 1)"),
    output: Path = typer.Option(..., "-o", "--output", help="output image file (format from its suffix)"),
    method: str = typer.Option("mertens", "--method", "-m",
                               help="mertens (torch, weights 1,1,1) | loopexpose (correct each frame, then "
                                    "Mertens) | mertens-opencv | any fusion or correction method name"),
    weights: Path = typer.Option(None, "--weights", "-w", help="weights file for a learned method"),
    quality: int = typer.Option(95, "--quality", help="JPEG/WebP quality"),
    overwrite: bool = typer.Option(True, "--overwrite/--no-overwrite", help="replace an existing output file"),
    device: str = typer.Option("cpu", "--device", help="torch device"),
) -> None:
    """Fuse a multi-exposure bracket. Frames must be aligned and of one size; their order does not matter.

    A correction method (e.g. ``uec``) is applied to every frame before Mertens fusion.
    """
    from exposurekit.io import ImageData, ImageReadError, ImageWriteError, write_image
    from exposurekit.methods.base import SequenceMethod
    from exposurekit.methods.registry import load_method

    con = Console(stderr=True, soft_wrap=True)
    t0 = time.perf_counter()
    if not sequence_dir.is_dir():
        con.print(f"[red]error:[/red] {sequence_dir}: not a folder of frames")
        raise typer.Exit(2)
    try:
        frames, records, mid = read_sequence(sequence_dir)
    except (ValueError, ImageReadError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    name = _ALIASES.get(method, method)
    try:
        m = load_method(name, weights=weights, device=device)
    except (KeyError, ValueError, FileNotFoundError, ImportError) as exc:
        con.print(f"[red]error:[/red] {exc.args[0] if exc.args else exc}")
        raise typer.Exit(2) from None
    try:
        if isinstance(m, SequenceMethod):
            out = fuse_arrays(m, frames)
        else:
            from exposurekit.methods.loopexpose import correct_then_fuse_arrays

            out = correct_then_fuse_arrays(m, frames)
    except (RuntimeError, ValueError, MemoryError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        con.print(f"[red]error:[/red] fusion failed ({msg})")
        raise typer.Exit(1) from None
    ref = records[mid]
    protect = tuple(r.path for r in records if r.path is not None)
    try:
        write_image(output, ImageData(out, None, ref.icc_profile, ref.exif, ref.format, []), quality=quality,
                    overwrite=overwrite, protect=protect)
    except ImageWriteError as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    dt = time.perf_counter() - t0
    h, w = out.shape[:2]
    con.print(f"[green]fused {len(frames)} frames ({w}×{h}) with {m.name} in {dt:.1f} s → {output}")


def fuse_arrays(method, frames: list[np.ndarray]) -> np.ndarray:
    """Run ``method.fuse`` on ``(H, W, 3)`` frames; returns the fused image in the frames' dtype."""
    import torch

    from exposurekit.ops.convert import array_to_tensor, tensor_to_array

    with torch.no_grad():
        stack = torch.cat([array_to_tensor(f, method.device) for f in frames])
        fused = method.fuse(stack)
    return tensor_to_array(fused, frames[0].dtype)
