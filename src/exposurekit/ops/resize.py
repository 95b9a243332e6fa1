"""Antialiased resizing helpers for ``(B, C, H, W)`` tensors."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def resize_to(x: Tensor, size: tuple[int, int], antialias: bool = True) -> Tensor:
    """Bilinear resize to ``size = (H, W)``, antialiased when shrinking."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias and shrink)


def resize_height(x: Tensor, height: int) -> Tensor:
    """Resize so that the height is ``height``, keeping the aspect ratio (width at least 1)."""
    h, w = x.shape[-2:]
    return resize_to(x, (height, max(1, round(w * height / h))))


def resize_long_side(x: Tensor, long_side: int) -> Tensor:
    """Shrink so that the longer side is at most ``long_side`` (never enlarges)."""
    h, w = x.shape[-2:]
    s = long_side / max(h, w)
    if s >= 1:
        return x
    return resize_to(x, (max(1, round(h * s)), max(1, round(w * s))))
