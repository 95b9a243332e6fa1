"""Identity (content) loss between the input and the enhanced output, on frozen feature maps.

.. math::  L_{id} = s \\sum_l w_l\\, \\mathrm{MSE}(f_l(out), f_l(in))

The published loss reads five CLIP RN101 feature maps with ``w = (1, 1, 1, 1, 0.5)`` and ``s = 25``.
Stand-ins that need no download:

* ``"pyramid"`` (default): five levels of a fixed Gaussian-like pyramid (2× average pooling); each
  map holds the RGB image and its horizontal and vertical gradients (9 channels);
* ``"msssim"``: ``1 − SSIM`` averaged over three dyadic scales (kornia SSIM), times ``s``;
* ``"clip"``: five hidden states of a CLIP vision tower (needs a :class:`ClipGuide`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["IDENTITY_KINDS", "IdentityLoss", "pyramid_features"]

IDENTITY_KINDS = ("pyramid", "msssim", "clip")


def pyramid_features(images: Tensor, levels: int = 5) -> list[Tensor]:
    """Fixed multi-scale maps :math:`(B, 9, H/2^l, W/2^l)`: RGB plus its x/y gradients per level."""
    out = []
    x = images
    for level in range(levels):
        if level:
            if min(x.shape[-2:]) >= 2:
                x = F.avg_pool2d(x, 2, ceil_mode=True)
        gx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
        gy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
        out.append(torch.cat([x, gx, gy], dim=1))
    return out


class IdentityLoss(nn.Module):
    """Per-image identity loss :math:`(B,)` between outputs and inputs.

    Args:
        kind: ``"pyramid"``, ``"msssim"`` or ``"clip"`` (see the module docstring).
        weights: per-map weights (published ``(1, 1, 1, 1, 0.5)``).
        scale: overall factor (published 25).
        guide: the :class:`~exposurekit.guidance.clip.ClipGuide` for ``kind="clip"``.
    """

    def __init__(self, kind: str = "pyramid", weights: Sequence[float] = (1, 1, 1, 1, 0.5), scale: float = 25.0,
                 guide: nn.Module | None = None) -> None:
        super().__init__()
        if kind not in IDENTITY_KINDS:
            raise ValueError(f"unknown identity loss {kind!r}; expected one of {', '.join(IDENTITY_KINDS)}")
        if kind == "clip" and guide is None:
            raise ValueError("identity loss 'clip' needs a CLIP model (--encoder clip:PATH)")
        self.kind, self.weights, self.scale = kind, tuple(float(w) for w in weights), float(scale)
        self._guide = [guide]

    def _maps(self, images: Tensor) -> list[Tensor]:
        if self.kind == "clip":
            return self._guide[0].feature_maps(images, n=len(self.weights))
        return pyramid_features(images, len(self.weights))

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """Loss per image :math:`(B,)` of ``output`` vs ``target`` (both :math:`(B, 3, H, W)`)."""
        if self.kind == "msssim":
            return self.scale * _one_minus_msssim(output, target)
        with torch.no_grad():
            ref = self._maps(target)
        got = self._maps(output)
        total = output.new_zeros(output.shape[0])
        for w, a, b in zip(self.weights, got, ref, strict=True):
            total = total + w * (a - b).pow(2).flatten(1).mean(1)
        return self.scale * total


def _one_minus_msssim(x: Tensor, y: Tensor, scales: int = 3, window: int = 7) -> Tensor:
    """``1 − mean SSIM`` over ``scales`` dyadic scales (7×7 Gaussian window, kornia), per image :math:`(B,)`.

    A plain multi-scale SSIM: the scales are averaged with equal weight; scales smaller than the
    window are skipped (pixel MSE is used when even the first is).
    """
    import kornia

    terms = []
    for _ in range(scales):
        if min(x.shape[-2:]) < window:
            break
        terms.append(1 - kornia.metrics.ssim(x, y, window).flatten(1).mean(1))
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    if not terms:
        return (x - y).pow(2).flatten(1).mean(1)
    return torch.stack(terms).mean(0)
