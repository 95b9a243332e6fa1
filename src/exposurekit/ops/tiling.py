"""Overlapping tiles with smooth blending, for networks that are not per-pixel.

Each tile is processed with a margin of context; outputs are blended with a separable raised-cosine
weight in the overlap, so tile borders leave no seam.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def _starts(n: int, tile: int, step: int) -> list[int]:
    if n <= tile:
        return [0]
    starts = list(range(0, n - tile, step)) + [n - tile]
    return sorted(set(starts))


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool, device: torch.device) -> Tensor:
    w = torch.ones(n, device=device)
    if overlap > 0:
        r = 0.5 - 0.5 * torch.cos(torch.linspace(0, torch.pi, overlap + 2, device=device)[1:-1])
        if not at_start:
            w[:overlap] = r
        if not at_end:
            w[-overlap:] = torch.minimum(w[-overlap:], r.flip(0))
    return w


def tiled_apply(fn: Callable[[Tensor], Tensor], images: Tensor, tile: int = 512, overlap: int = 64,
                margin: int = 0) -> Tensor:
    """Apply ``fn`` to overlapping ``tile``×``tile`` crops and blend them.

    Args:
        fn: maps :math:`(B, C, h, w)` to :math:`(B, C', h, w)`.
        images: :math:`(B, C, H, W)`.
        tile: tile side in pixels.
        overlap: pixels shared by neighbouring tiles (blended with a raised cosine).
        margin: extra context pixels given to ``fn`` on each side of a tile (clipped at the image
            border) and cropped from its output; at least the receptive radius of a convolutional
            ``fn`` makes the result equal to ``fn(images)``.

    Returns:
        :math:`(B, C', H, W)`; equal to ``fn(images)`` when the image fits in one tile.
    """
    b, _, h, w = images.shape
    if h <= tile and w <= tile:
        return fn(images)
    if overlap * 2 >= tile:
        raise ValueError(f"overlap ({overlap}) must be less than half the tile ({tile})")
    step = tile - overlap
    ys, xs = _starts(h, tile, step), _starts(w, tile, step)
    out: Tensor | None = None
    norm = torch.zeros(1, 1, h, w, device=images.device)
    for y in ys:
        th = min(tile, h)
        wy = _ramp(th, overlap, y == ys[0], y == ys[-1], images.device)
        for x in xs:
            tw = min(tile, w)
            wx = _ramp(tw, overlap, x == xs[0], x == xs[-1], images.device)
            y0, x0 = max(0, y - margin), max(0, x - margin)
            res = fn(images[:, :, y0:min(h, y + th + margin), x0:min(w, x + tw + margin)])
            res = res[:, :, y - y0:y - y0 + th, x - x0:x - x0 + tw]
            if out is None:
                out = torch.zeros(b, res.shape[1], h, w, device=images.device, dtype=res.dtype)
            weight = (wy[:, None] * wx[None, :])[None, None]
            out[:, :, y:y + th, x:x + tw] += res * weight
            norm[:, :, y:y + th, x:x + tw] += weight
    assert out is not None
    return out / norm.clamp_min(1e-8)
