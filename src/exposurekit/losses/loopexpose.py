"""Losses of LoopExpose: luminance ranking over a sequence's known order, and SSIM as a loss.

The L1 term is ``torch.nn.functional.l1_loss``. The perceptual (VGG19) term of the original is not
provided: its pretrained weights cannot be downloaded here (see ``docs/loopexpose.md``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.metrics.full_reference import ssim

__all__ = ["RankingLoss", "SSIMLoss", "ranking_loss", "ssim_loss"]


def ranking_loss(scalars: Tensor, margin: float = 0.1, reduction: str = "mean") -> Tensor:
    """Hinge loss asking per-frame scalars to increase with the frames' known order.

    For frames ordered dark → bright, every pair :math:`i < j` contributes
    :math:`\\max(0, l_i - l_j + m)`. The original uses :math:`m = 0` and a sum, which near-constant scalars
    satisfy trivially; a positive margin and the mean over pairs (the default here) fix that.

    Args:
        scalars: :math:`(N,)` one scalar per frame, frames ordered dark → bright, or :math:`(B, N)` for B
            sequences of equal length.
        margin: :math:`m \\ge 0`, the gap required between any darker and brighter frame.
        reduction: ``"mean"`` (over pairs and sequences), ``"sum"`` or ``"none"`` (per sequence sum, :math:`(B,)`).

    Returns:
        Scalar loss (or :math:`(B,)` with ``reduction="none"``); 0 for a single frame.

    Example:
        >>> float(ranking_loss(torch.tensor([0.0, 1.0, 2.0]), margin=0.5))
        0.0
        >>> float(ranking_loss(torch.tensor([1.0, 0.0]), margin=0.5))
        1.5
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    x = scalars.unsqueeze(0) if scalars.ndim == 1 else scalars
    if x.ndim != 2:
        raise ValueError(f"expected (N,) or (B, N) scalars, got shape {tuple(scalars.shape)}")
    n = x.shape[1]
    if n < 2:
        zero = x.sum(dim=1) * 0
        return zero if reduction == "none" else zero.sum()
    i, j = torch.triu_indices(n, n, offset=1, device=x.device)
    pairs = F.relu(x[:, i] - x[:, j] + margin)  # (B, P)
    if reduction == "none":
        return pairs.sum(1)
    return pairs.mean() if reduction == "mean" else pairs.sum()


class RankingLoss(nn.Module):
    """Module form of :func:`ranking_loss` with a ``loss_weight``."""

    def __init__(self, margin: float = 0.1, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.margin, self.reduction, self.loss_weight = margin, reduction, loss_weight

    def forward(self, scalars: Tensor) -> Tensor:
        return self.loss_weight * ranking_loss(scalars, self.margin, self.reduction)


def ssim_loss(x: Tensor, y: Tensor, window_size: int = 11, sigma: float = 1.5, data_range: float = 1.0,
              reduction: str = "mean") -> Tensor:
    """:math:`1 - \\mathrm{SSIM}(x, y)` with a Gaussian window, differentiable, in the input dtype.

    Same definition as :func:`exposurekit.metrics.ssim` (population statistics, valid region only,
    averaged over channels); images smaller than the window use a window shrunk to fit.

    Args:
        x: :math:`(B, C, H, W)` prediction in ``[0, data_range]``.
        y: :math:`(B, C, H, W)` target.
        window_size: odd number of Gaussian taps.
        sigma: Gaussian standard deviation.
        data_range: value range of the images.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (:math:`(B,)`).

    Returns:
        Scalar (or :math:`(B,)`), 0 for identical images.
    """
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    h, w = x.shape[-2:]
    size = min(window_size, h - (1 - h % 2), w - (1 - w % 2))
    loss = 1 - ssim(x, y, data_range=data_range, window_size=size, sigma=sigma)
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


class SSIMLoss(nn.Module):
    """Module form of :func:`ssim_loss` with a ``loss_weight``."""

    def __init__(self, window_size: int = 11, sigma: float = 1.5, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.window_size, self.sigma, self.loss_weight = window_size, sigma, loss_weight

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.loss_weight * ssim_loss(x, y, self.window_size, self.sigma)
