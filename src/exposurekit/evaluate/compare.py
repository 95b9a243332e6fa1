"""Side-by-side visual comparison: an HTML page and a PNG grid (input | each method | target) with histograms.

    from exposurekit.evaluate.compare import compare_methods
    compare_methods(samples, ["linear-gain", "clahe"], "out/compare")   # out/compare/index.html, grid.png
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from exposurekit.ops.convert import tensor_to_array

__all__ = ["compare_methods", "histogram_svg", "render_grid"]


def _stats(x: Tensor, target: Tensor | None) -> dict[str, float]:
    from exposurekit.metrics import clipped_fractions, delta_e2000, mean_luminance, psnr, ssim

    sh, hi = clipped_fractions(x)
    out = {"mean_lum": float(mean_luminance(x)[0]), "shadows": float(sh[0]), "highlights": float(hi[0])}
    if target is not None:
        out.update(psnr=float(psnr(x, target)[0]), ssim=float(ssim(x, target)[0]) if min(x.shape[-2:]) >= 11
                   else float("nan"), delta_e=float(delta_e2000(x, target)[0]))
    return out


def _caption(s: dict[str, float]) -> str:
    parts = [f"Ȳ {s['mean_lum']:.2f}", f"clip {100 * s['highlights']:.1f}%", f"crush {100 * s['shadows']:.1f}%"]
    if "psnr" in s:
        parts.insert(0, f"{s['psnr']:.2f} dB / {s['ssim']:.3f} / ΔE {s['delta_e']:.1f}")
    return " · ".join(parts)


def histogram_svg(img: np.ndarray, width: int = 256, height: int = 60, bins: int = 64) -> str:
    """Inline SVG of the R, G, B and luma histograms of an ``(H, W, 3)`` uint8 image."""
    paths = []
    lum = (0.2126 * img[..., 0] + 0.7152 * img[..., 1] + 0.0722 * img[..., 2]).astype(np.uint8)
    for chan, colour in ((img[..., 0], "#d33"), (img[..., 1], "#3a3"), (img[..., 2], "#36d"), (lum, "#444")):
        h, _ = np.histogram(chan, bins=bins, range=(0, 256))
        h = np.sqrt(h / max(h.max(), 1))  # sqrt scale keeps small bins visible
        pts = " ".join(f"{i * width / (bins - 1):.1f},{height - v * (height - 2):.1f}" for i, v in enumerate(h))
        paths.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{pts}"/>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'style="background:#f4f4f4">{"".join(paths)}</svg>')


def render_grid(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: str | Path, cell: float = 2.6) -> Path:
    """Matplotlib PNG: per image one row of pictures and one row of luma/RGB histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, m = len(rows), len(columns)
    fig, axes = plt.subplots(2 * n, m, figsize=(cell * m, cell * n * 1.35),
                             gridspec_kw={"height_ratios": [3, 1] * n}, squeeze=False)
    for r, row in enumerate(rows):
        for c, col in enumerate(columns):
            ax, hx = axes[2 * r, c], axes[2 * r + 1, c]
            ax.axis("off")
            hx.set_xticks([])
            hx.set_yticks([])
            img = row["images"].get(col)
            if img is None:
                hx.axis("off")
                continue
            ax.imshow(img)
            title = col if r == 0 else ""
            cap = row["captions"].get(col, "")
            ax.set_title(f"{title}\n{cap}" if title else cap, fontsize=6)
            for k, colour in enumerate(("#d33", "#3a3", "#36d")):
                h, edges = np.histogram(img[..., k], bins=64, range=(0, 256))
                hx.plot(edges[:-1], np.sqrt(h / max(h.max(), 1)), color=colour, lw=0.7)
            hx.set_xlim(0, 256)
            hx.set_ylim(0, 1.05)
        axes[2 * r, 0].text(-0.02, 0.5, row["name"], transform=axes[2 * r, 0].transAxes, rotation=90,
                            ha="right", va="center", fontsize=6)
    fig.tight_layout(pad=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_methods(
    samples: Sequence[Any],
    methods: Sequence[Any],
    outdir: str | Path,
    long_side: int = 512,
    grid_rows: int = 6,
    device: str = "cpu",
) -> dict[str, Path]:
    """Run every method on every sample and write ``index.html``, ``grid.png`` and the images.

    Args:
        samples: :class:`exposurekit.data.benchmarks.Sample` items (``target`` may be ``None``).
        methods: names or :class:`~exposurekit.methods.base.Method` objects.
        outdir: output folder.
        long_side: images are shown (and corrected) with the long side at most this.
        grid_rows: the PNG grid holds the first ``grid_rows`` samples (the HTML page holds all).
        device: where methods run.

    Returns:
        ``{"html": path, "grid": path}``.
    """
    from PIL import Image

    from exposurekit.evaluate.heldout import _as_corrector
    from exposurekit.evaluate.runner import load_sized
    from exposurekit.ops import resize_to

    outdir = Path(outdir)
    (outdir / "images").mkdir(parents=True, exist_ok=True)
    correctors = [_as_corrector(m, device) for m in methods]
    has_target = any(s.target is not None for s in samples)
    columns = ["input", *(n for n, _ in correctors), *(["target"] if has_target else [])]
    rows = []
    for i, s in enumerate(samples):
        x = load_sized(s.input, ("long", long_side))
        tgt = resize_to(load_sized(s.target, ("long", long_side)), tuple(x.shape[-2:])) if s.target else None
        tensors: dict[str, Tensor] = {"input": x}
        for name, fn in correctors:
            with torch.no_grad():
                tensors[name] = fn(x.to(device)).float().cpu().clamp(0, 1)
        if tgt is not None:
            tensors["target"] = tgt
        images, captions, files = {}, {}, {}
        slug = f"{i:03d}_" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s.name)[-60:]
        for col, t in tensors.items():
            images[col] = tensor_to_array(t[:1], np.uint8)
            captions[col] = _caption(_stats(t, tgt if col != "target" else None))
            f = outdir / "images" / f"{slug}__{col}.png"
            Image.fromarray(images[col]).save(f)
            files[col] = f.relative_to(outdir).as_posix()
        rows.append({"name": s.name, "images": images, "captions": captions, "files": files})
    grid = render_grid(rows[:grid_rows], columns, outdir / "grid.png")
    page = _html(rows, columns)
    (outdir / "index.html").write_text(page)
    return {"html": outdir / "index.html", "grid": grid}


def _html(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            if c not in r["files"]:
                cells.append("<td></td>")
                continue
            cells.append(
                f'<td><a href="{html.escape(r["files"][c])}"><img src="{html.escape(r["files"][c])}" loading="lazy"></a>'
                f'<div class="cap">{html.escape(r["captions"][c])}</div>{histogram_svg(r["images"][c])}</td>')
        body.append(f'<tr><th class="name">{html.escape(r["name"])}</th>{"".join(cells)}</tr>')
    n = len(columns)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>exposurekit compare</title>
<style>
body {{ font: 13px system-ui, sans-serif; margin: 12px; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 4px; vertical-align: top; text-align: center; }}
td img {{ width: {max(160, math.floor(1400 / max(n, 1)))}px; height: auto; display: block; }}
.cap {{ font-size: 11px; color: #333; margin: 2px 0; }}
th.name {{ writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; color: #666; }}
thead th {{ position: sticky; top: 0; background: #fff; }}
</style></head><body>
<h1>exposurekit compare</h1>
<p>Captions: PSNR / SSIM / ΔE00 against the target (when there is one) · mean luma Ȳ · clipped highlights ·
crushed shadows. Histograms: R, G, B and luma (square-root counts).</p>
<table><thead><tr><th></th>{head}</tr></thead><tbody>
{"".join(body)}
</tbody></table></body></html>
"""
