"""``exposurekit info IMAGE``: exposure statistics of images."""

from __future__ import annotations

import numpy as np
import typer
from rich.console import Console

from exposurekit.cli.app import app

_SPARK = " ▁▂▃▄▅▆▇█"


def sparkline(hist: np.ndarray) -> str:
    """Histogram counts → a one-line bar string (max bin = full block)."""
    if hist.max() <= 0:
        return " " * len(hist)
    levels = np.ceil(hist / hist.max() * (len(_SPARK) - 1)).astype(int)
    return "".join(_SPARK[i] for i in levels)


def exposure_stats(rgb: np.ndarray) -> dict[str, float | str]:
    """Mean luminance (sRGB-encoded and linear), clipped fractions and a 32-bin luminance sparkline.

    Args:
        rgb: ``(H, W, 3)`` uint8/uint16/float image.
    """
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(rgb.dtype, 1.0)
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / 1024)))
    x = rgb[::step, ::step].astype(np.float32) / scale
    y = x @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    hist, _ = np.histogram(y, bins=32, range=(0, 1))
    return {
        "mean_luminance": float(y.mean()),
        "mean_linear_luminance": float(lin.mean()),
        "ev_to_middle_grey": float(np.log2(0.18 / max(float(lin.mean()), 1e-6))),
        "clipped_shadows": float((x.max(axis=2) <= 2 / 255).mean()),
        "clipped_highlights": float((x.min(axis=2) >= 253 / 255).mean()),
        "histogram": sparkline(hist),
    }


@app.command("info")
def info_command(images: list[str] = typer.Argument(..., help="image files, folders or globs")) -> None:
    """Print size, bit depth, mean luminance, clipped fractions and a luminance histogram."""
    from exposurekit.io import ImageReadError, expand_inputs, read_image

    con = Console()
    failed = 0
    for path in expand_inputs(images):
        try:
            img = read_image(path)
        except ImageReadError as exc:
            con.print(f"[red]✗[/red] {exc}")
            failed += 1
            continue
        s = exposure_stats(img.rgb)
        w, h = img.size
        con.print(f"[bold]{path}[/bold]  {w}×{h} {img.format} {img.bit_depth}-bit"
                  f"{' +alpha' if img.alpha is not None else ''}{' ICC' if img.icc_profile else ''}"
                  f"{' EXIF' if img.exif else ''}")
        con.print(f"  mean luminance {s['mean_luminance']:.3f} (linear {s['mean_linear_luminance']:.3f}, "
                  f"{s['ev_to_middle_grey']:+.2f} EV to middle grey)")
        con.print(f"  clipped: shadows {100 * s['clipped_shadows']:.2f} %, highlights {100 * s['clipped_highlights']:.2f} %")
        con.print(f"  histogram [{s['histogram']}]")
        if img.notes:
            con.print(f"  [dim]{'; '.join(img.notes)}[/dim]")
    if failed:
        raise typer.Exit(1)
