"""The four no-reference losses of Zero-DCE (Guo et al., CVPR 2020).

* :func:`spatial_consistency_loss` keeps the contrast between neighbouring 4×4 regions;
* :func:`exposure_control_loss` pulls the mean of 16×16 regions to a well-exposedness level E;
* :func:`color_constancy_loss` follows the grey-world hypothesis on the channel means;
* :func:`illumination_smoothness_loss` is the total variation of the curve-parameter maps.

Each returns one value per image, shape :math:`(B,)`; :class:`ZeroDCELoss` adds them with the
published weights 1, 10, 5 and 200.

Choices where the paper and its released code differ (documented in ``docs/zerodce.md``): the spatial
term compares *signed* neighbour differences by default (as the released code; the paper writes
absolute values, which let a bright region turn darker than its neighbours without cost; ``signed=False``
gives the paper's form) and uses only pairs of regions inside the image (no zero padding at the border,
which made the border count as an edge); the colour term is the paper's sum of squared differences of
channel means; the smoothness term is twice the mean squared gradient of each curve map, summed over
the maps (the released code's normalisation), so that the published weight 200 has its published strength.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ZeroDCELoss",
    "ZeroDCELossWeights",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "spatial_consistency_loss",
]


def _check(x: Tensor, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name}: expected shape (B, C, H, W), got {tuple(x.shape)}")


def _pool(x: Tensor, size: int) -> Tensor:
    """Mean over channels, then non-overlapping ``size``×``size`` averages (ceil mode for small images)."""
    grey = x.mean(dim=1, keepdim=True)
    if grey.shape[-1] < size or grey.shape[-2] < size:
        size = max(1, min(size, grey.shape[-1], grey.shape[-2]))
    return F.avg_pool2d(grey, size, stride=size)


def spatial_consistency_loss(enhanced: Tensor, original: Tensor, region: int = 4, signed: bool = True) -> Tensor:
    """Keep the difference of each region to its four neighbours.

    .. math::

        L_{spa} = \\frac{1}{K} \\sum_{i=1}^{K} \\sum_{j \\in \\Omega(i)} ((Y_i - Y_j) - (I_i - I_j))^2

    with :math:`Y, I` the channel-mean of ``enhanced`` and ``original`` averaged over ``region``-sized
    squares and :math:`\\Omega(i)` the (up to four) neighbours of region i inside the image. With
    ``signed=False`` the differences are absolute values, as the paper writes it (a contrast may then
    invert without cost).

    Args:
        enhanced: :math:`(B, 3, H, W)` output.
        original: :math:`(B, 3, H, W)` input.
        region: side of the averaged regions (4 in the paper).
        signed: compare signed differences (released code) instead of absolute ones (paper).

    Returns:
        :math:`(B,)`; zero when ``enhanced`` equals ``original`` plus a constant.
    """
    _check(enhanced, "enhanced")
    _check(original, "original")
    if enhanced.shape != original.shape:
        raise ValueError(f"shapes differ: enhanced {tuple(enhanced.shape)}, original {tuple(original.shape)}")
    y, i = _pool(enhanced, region), _pool(original, region)
    k = y.shape[-1] * y.shape[-2]
    total = enhanced.new_zeros(enhanced.shape[0])
    for dim in (-1, -2):
        dy = y.narrow(dim, 1, y.shape[dim] - 1) - y.narrow(dim, 0, y.shape[dim] - 1)
        di = i.narrow(dim, 1, i.shape[dim] - 1) - i.narrow(dim, 0, i.shape[dim] - 1)
        if not signed:
            dy, di = dy.abs(), di.abs()
        # each unordered pair appears twice in the paper's sum (i→j and j→i)
        total = total + 2 * ((dy - di) ** 2).flatten(1).sum(1)
    return total / k


def exposure_control_loss(enhanced: Tensor, level: float = 0.6, region: int = 16) -> Tensor:
    """Distance of the mean of each ``region``×``region`` patch to the exposure ``level`` E.

    .. math::

        L_{exp} = \\frac{1}{M} \\sum_{k=1}^{M} (Y_k - E)^2

    Args:
        enhanced: :math:`(B, 3, H, W)` output.
        level: well-exposedness level E (0.6 in the paper).
        region: patch side (16 in the paper).

    Returns:
        :math:`(B,)`; zero when every patch averages to ``level``.
    """
    _check(enhanced, "enhanced")
    return ((_pool(enhanced, region) - level) ** 2).flatten(1).mean(1)


def color_constancy_loss(enhanced: Tensor) -> Tensor:
    """Grey-world colour constancy: squared differences of the channel means.

    .. math::

        L_{col} = \\sum_{(p, q) \\in \\{(R,G), (R,B), (G,B)\\}} (J^p - J^q)^2

    Args:
        enhanced: :math:`(B, 3, H, W)` output.

    Returns:
        :math:`(B,)`; zero for any image whose channels have equal means (e.g. grey).
    """
    _check(enhanced, "enhanced")
    if enhanced.shape[1] != 3:
        raise ValueError(f"expected 3 channels, got {enhanced.shape[1]}")
    m = enhanced.mean(dim=(2, 3))
    r, g, b = m[:, 0], m[:, 1], m[:, 2]
    return (r - g) ** 2 + (r - b) ** 2 + (g - b) ** 2


def illumination_smoothness_loss(curves: Tensor, channels: str = "sum") -> Tensor:
    """Total variation of the curve-parameter maps: twice the mean squared horizontal plus vertical gradient,
    averaged over pixels and **summed over the maps**.

    .. math::
        L_{tv} = 2 \\sum_{m} \\left( \\overline{(\\nabla_x A_m)^2} + \\overline{(\\nabla_y A_m)^2} \\right)

    The paper sums over colour channels (and averages over the 8 iterations); the released code divides
    the squared gradients by the pixel count only, i.e. sums over all 24 maps. Averaging over the maps too
    (``channels="mean"``, our first version) makes the term 24× weaker than published: the curves then
    follow image edges and the outputs show halos and posterised flat areas (docs/zerodce.md).

    Args:
        curves: :math:`(B, 3n, H, W)` curve parameters.
        channels: ``"sum"`` (default, published strength) or ``"mean"`` over the maps.

    Returns:
        :math:`(B,)`; zero for maps that are constant over the image.
    """
    _check(curves, "curves")
    if channels not in ("sum", "mean"):
        raise ValueError(f"channels must be 'sum' or 'mean', got {channels!r}")
    b, m = curves.shape[:2]
    dx = curves[..., :, 1:] - curves[..., :, :-1]
    dy = curves[..., 1:, :] - curves[..., :-1, :]
    tx = (dx ** 2).reshape(b, -1).mean(1) if dx.numel() else curves.new_zeros(b)
    ty = (dy ** 2).reshape(b, -1).mean(1) if dy.numel() else curves.new_zeros(b)
    return 2 * (tx + ty) * (m if channels == "sum" else 1)


@dataclass
class ZeroDCELossWeights:
    """Weights of the four terms and the exposure level (published values as defaults)."""

    spatial: float = 1.0
    exposure: float = 10.0
    color: float = 5.0
    smoothness: float = 200.0
    level: float = 0.6


class ZeroDCELoss(nn.Module):
    """Weighted sum of the four Zero-DCE losses, averaged over the batch.

    Args:
        weights: term weights and exposure level (see :class:`ZeroDCELossWeights`).

    Returns (``forward``):
        dict with ``loss`` (the weighted sum, a scalar) and each weighted term ``spa``, ``exp``,
        ``col``, ``tv`` (scalars).
    """

    def __init__(self, weights: ZeroDCELossWeights | None = None) -> None:
        super().__init__()
        self.weights = weights or ZeroDCELossWeights()

    def forward(self, enhanced: Tensor, original: Tensor, curves: Tensor) -> dict[str, Tensor]:
        w = self.weights
        terms = {
            "spa": w.spatial * spatial_consistency_loss(enhanced, original).mean(),
            "exp": w.exposure * exposure_control_loss(enhanced, w.level).mean(),
            "col": w.color * color_constancy_loss(enhanced).mean(),
            "tv": w.smoothness * illumination_smoothness_loss(curves).mean(),
        }
        terms["loss"] = torch.stack(list(terms.values())).sum()
        return terms
