"""SIMR losses: fidelity to the pseudo-target and semantic (prior-region) consistency.

* ``mse`` + ``cos``: :math:`\\|y - t\\|^2` and :math:`1 - \\cos(y_p, t_p)` per pixel (RGB vectors),
  against the pseudo-target :math:`t`;
* ``region``: inside each prior region the exposure change should be uniform: the variance of
  :math:`\\log Y_{out} - \\log Y_{in}` over the region's pixels, area-weighted;
* ``color``: each region's mean chromaticity (r, g of :math:`c / \\sum c`) should match the
  pseudo-target's;
* ``align``: :math:`1 - P(\\text{well} \\mid y)` under a differentiable exposure scorer (CLIP prompts
  when CLIP is present, or the stand-in classifier); off by default.

The paper names weights λ1–λ3, β1, β2 without values; ours are in :class:`SIMRLossWeights`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from exposurekit.ops.color import luminance
from exposurekit.priors.base import region_stats

__all__ = ["SIMRLoss", "SIMRLossWeights", "alignment_loss", "cosine_loss", "region_color_loss",
           "region_exposure_loss"]


@dataclass
class SIMRLossWeights:
    """Weights of the SIMR loss terms (see the module docstring)."""

    mse: float = 1.0
    cos: float = 0.5
    region: float = 0.1
    color: float = 0.5
    align: float = 0.0


def cosine_loss(x: Tensor, y: Tensor, eps: float = 1e-6) -> Tensor:
    """Mean :math:`1 - \\cos` between the RGB vectors of :math:`(B, 3, H, W)` images, :math:`(B,)`."""
    return (1 - F.cosine_similarity(x + eps, y + eps, dim=1, eps=eps)).mean((1, 2))


def region_exposure_loss(out: Tensor, inp: Tensor, labels: Tensor, eps: float = 1e-3) -> Tensor:
    """Area-weighted variance of the log-luminance change inside each region, :math:`(B,)`.

    Args:
        out: :math:`(B, 3, H, W)` output.
        inp: :math:`(B, 3, H, W)` input.
        labels: :math:`(B, H, W)` int64 region labels.
    """
    change = torch.log(luminance(out) + eps) - torch.log(luminance(inp) + eps)
    k = int(labels.max()) + 1
    _, var, cnt = region_stats(change, labels, k)
    w = cnt / cnt.sum(1, keepdim=True).clamp_min(1)
    return (var[..., 0] * w).sum(1)


def region_color_loss(out: Tensor, target: Tensor, labels: Tensor, eps: float = 1e-3) -> Tensor:
    """Area-weighted L1 between region mean chromaticities of ``out`` and ``target``, :math:`(B,)`."""
    def chroma(x: Tensor) -> Tensor:
        return (x / (x.sum(1, keepdim=True) + eps))[:, :2]

    k = int(labels.max()) + 1
    mo, _, cnt = region_stats(chroma(out), labels, k)
    mt, _, _ = region_stats(chroma(target), labels, k)
    w = cnt / cnt.sum(1, keepdim=True).clamp_min(1)
    return ((mo - mt).abs().sum(-1) * w).sum(1)


def alignment_loss(out: Tensor, scorer: Callable[[Tensor], Tensor], well: int = 1) -> Tensor:
    """:math:`1 - P(\\text{well} \\mid y)`, :math:`(B,)`; ``scorer`` maps images to :math:`(B, 3)` probabilities."""
    return 1 - scorer(out)[:, well]


class SIMRLoss(torch.nn.Module):
    """Weighted sum of the SIMR terms; returns a dict with ``loss`` and every term (batch means).

    Args:
        weights: term weights.
        scorer: differentiable exposure scorer for ``align`` (``None``: the term is skipped).
    """

    def __init__(self, weights: SIMRLossWeights | None = None, scorer: Callable[[Tensor], Tensor] | None = None) -> None:
        super().__init__()
        self.weights = weights or SIMRLossWeights()
        self.scorer = scorer

    def forward(self, out: Tensor, inp: Tensor, target: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        w = self.weights
        terms = {"mse": F.mse_loss(out, target), "cos": cosine_loss(out, target).mean()}
        if labels is not None and (w.region or w.color):
            terms["region"] = region_exposure_loss(out, inp, labels).mean()
            terms["color"] = region_color_loss(out, target, labels).mean()
        if self.scorer is not None and w.align:
            terms["align"] = alignment_loss(out, self.scorer).mean()
        total = sum(getattr(w, k) * v for k, v in terms.items())
        return {"loss": total, **terms}
