"""A differentiable exposure embedding: an image encoder that needs no download.

It stands in for CLIP's image tower in the latent (CLIP-LIT-Latent) and residual (RAVE) guidance
modes. Every feature is a smooth function of the pixels, so gradients reach the enhancement network.

Features (in this order; :data:`FEATURE_NAMES` names each dimension):

* ``hist``: soft luminance histogram, ``bins`` Gaussian bins over sRGB-encoded luma, as square roots of
  the bin probabilities (Hellinger embedding: unit norm);
* ``colour``: mean and standard deviation of R, G and B;
* ``contrast``: local contrast statistics: mean and standard deviation of the 7×7 local standard
  deviation of luma, mean gradient magnitude at full and half resolution (×``contrast_gain``);
* ``layout``: mean luma of a 3×3 grid of regions (where the light is: backlit photos are dark in
  the middle and bright at the border).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.ops.color import luminance

__all__ = ["ExposureEmbedding", "feature_names"]


def feature_names(bins: int = 16, grid: int = 3) -> list[str]:
    """Names of the embedding dimensions, e.g. ``hist[0.03]``, ``mean_R``, ``grid[0,0]``."""
    names = [f"hist[{(k + 0.5) / bins:.2f}]" for k in range(bins)]
    names += ["mean_R", "mean_G", "mean_B", "std_R", "std_G", "std_B"]
    names += ["local_std_mean", "local_std_std", "grad_full", "grad_half"]
    names += [f"grid[{i},{j}]" for i in range(grid) for j in range(grid)]
    return names


class ExposureEmbedding(nn.Module):
    """Fixed, differentiable exposure descriptor :math:`(B, D)` of images :math:`(B, 3, H, W)`.

    Args:
        bins: luminance histogram bins.
        size: images are squash-resized to ``size``×``size`` first (speed; CLIP squashes too).
        grid: the layout grid is ``grid``×``grid``.
        contrast_gain: scale of the contrast features (they are small numbers otherwise).
        group_weights: weights of the four groups (hist, colour, contrast, layout).

    Example:
        >>> enc = ExposureEmbedding()
        >>> enc(torch.rand(2, 3, 40, 30)).shape
        torch.Size([2, 35])
    """

    def __init__(self, bins: int = 16, size: int = 128, grid: int = 3, contrast_gain: float = 5.0,
                 group_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> None:
        super().__init__()
        self.bins, self.size, self.grid = bins, size, grid
        self.contrast_gain = contrast_gain
        self.group_weights = tuple(float(w) for w in group_weights)
        self.register_buffer("centres", (torch.arange(bins, dtype=torch.float32) + 0.5) / bins, persistent=False)
        self.dim = bins + 6 + 4 + grid * grid
        self.names = feature_names(bins, grid)

    @property
    def config(self) -> dict[str, Any]:
        return {"bins": self.bins, "size": self.size, "grid": self.grid, "contrast_gain": self.contrast_gain,
                "group_weights": list(self.group_weights)}

    @property
    def cache_key(self) -> str:
        """Identifies the encoder for the embedding cache."""
        return "exposure-v1:" + hashlib.sha1(repr(sorted(self.config.items())).encode()).hexdigest()[:12]

    def groups(self) -> dict[str, slice]:
        """Slices of the four feature groups in the embedding."""
        b, g = self.bins, self.grid * self.grid
        return {"hist": slice(0, b), "colour": slice(b, b + 6), "contrast": slice(b + 6, b + 10),
                "layout": slice(b + 10, b + 10 + g)}

    def forward(self, images: Tensor) -> Tensor:
        """Embeddings :math:`(B, D)` of :math:`(B, 3, H, W)` RGB in [0, 1] (``D = bins + 19`` by default)."""
        x = images.clamp(0, 1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            shrink = x.shape[-2] > self.size or x.shape[-1] > self.size
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=shrink)
        y = luminance(x)  # (B, 1, S, S)
        # soft histogram
        sigma = 1.0 / self.bins
        d = (y.flatten(1).unsqueeze(-1) - self.centres.to(y)) / sigma  # (B, P, bins)
        w = torch.exp(-0.5 * d * d)
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-8)
        hist = (w.mean(1) + 1e-6).sqrt()
        hist = hist / hist.norm(dim=-1, keepdim=True)
        # colour moments
        flat = x.flatten(2)
        colour = torch.cat([flat.mean(-1), (flat.var(-1, unbiased=False) + 1e-8).sqrt()], dim=1)
        # local contrast
        mu = F.avg_pool2d(y, 7, 1, 3, count_include_pad=False)
        var = F.avg_pool2d(y * y, 7, 1, 3, count_include_pad=False) - mu * mu
        lstd = (var.clamp_min(0) + 1e-6).sqrt().flatten(1)
        grads = [self._grad_mag(y), self._grad_mag(F.avg_pool2d(y, 2))]
        contrast = torch.stack([lstd.mean(1), lstd.std(1), *grads], dim=1) * self.contrast_gain
        # layout
        layout = F.adaptive_avg_pool2d(y, self.grid).flatten(1)
        gw = self.group_weights
        return torch.cat([gw[0] * hist, gw[1] * colour, gw[2] * contrast, gw[3] * layout], dim=1)

    @staticmethod
    def _grad_mag(y: Tensor) -> Tensor:
        gx = y[..., :, 1:] - y[..., :, :-1]
        gy = y[..., 1:, :] - y[..., :-1, :]
        return (gx.abs().flatten(1).mean(1) + gy.abs().flatten(1).mean(1)) * 0.5
