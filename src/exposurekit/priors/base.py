"""The semantic-prior interface shared by every backend: per-scale feature maps and region masks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["PriorError", "PriorOutput", "SemanticPrior", "labels_to_onehot", "region_stats"]


class PriorError(RuntimeError):
    """A prior cannot run: a missing optional package or model file (one-line message says which)."""


@dataclass
class PriorOutput:
    """What a prior gives for a batch.

    Attributes:
        features: feature maps, one per requested scale, :math:`(B, C_p, H/s, W/s)` for each scale
            ``s`` (the first is at the prior's native feature resolution when no scales are asked).
        masks: region labels :math:`(B, H, W)` int64 at the image size, ``0 … K−1`` (no background
            label: every pixel belongs to a region).
    """

    features: list[Tensor]
    masks: Tensor

    @property
    def num_regions(self) -> list[int]:
        """Number of labels per image."""
        return [int(m.max()) + 1 for m in self.masks]


class SemanticPrior(ABC):
    """A frozen semantic prior.

    Subclasses implement :meth:`extract`. Call the prior as ``prior(images, scales=(1, 2, 4))``.

    Attributes:
        name: backend name.
        channels: channels :math:`C_p` of the feature maps.
    """

    name: str = ""
    channels: int = 0

    @abstractmethod
    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Native features :math:`(B, C_p, h, w)` and region labels :math:`(B, H, W)` int64.

        Args:
            images: :math:`(B, 3, H, W)` float RGB in [0, 1].
        """

    @torch.no_grad()
    def __call__(self, images: Tensor, scales: tuple[int, ...] | None = None) -> PriorOutput:
        """Features resized to ``H/s × W/s`` for each ``s`` in ``scales`` (native size if ``None``) and masks."""
        feats, masks = self.extract(images)
        h, w = images.shape[-2:]
        if scales is None:
            out = [feats]
        else:
            out = [F.interpolate(feats, size=(max(1, -(-h // s)), max(1, -(-w // s))), mode="bilinear",
                                 align_corners=False) for s in scales]
        return PriorOutput(out, masks)


def labels_to_onehot(labels: Tensor, k: int | None = None) -> Tensor:
    """Region labels :math:`(B, H, W)` to one-hot masks :math:`(B, K, H, W)` float."""
    k = int(labels.max()) + 1 if k is None else k
    return F.one_hot(labels.long(), k).permute(0, 3, 1, 2).float()


def region_stats(values: Tensor, labels: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per-region mean and variance of ``values`` :math:`(B, C, H, W)` for labels :math:`(B, H, W)`.

    Differentiable with respect to ``values``.

    Returns:
        ``(mean, var, count)``: :math:`(B, K, C)`, :math:`(B, K, C)` and :math:`(B, K)`; empty regions
        give 0.
    """
    b, c = values.shape[:2]
    flat = values.flatten(2)  # (B, C, HW)
    idx = labels.flatten(1).long()  # (B, HW)
    cnt = torch.zeros(b, k, device=values.device, dtype=values.dtype).scatter_add_(
        1, idx, torch.ones_like(idx, dtype=values.dtype))
    s1 = torch.zeros(b, c, k, device=values.device, dtype=values.dtype).scatter_add(
        2, idx[:, None].expand(-1, c, -1), flat)
    s2 = torch.zeros(b, c, k, device=values.device, dtype=values.dtype).scatter_add(
        2, idx[:, None].expand(-1, c, -1), flat * flat)
    n = cnt[:, None].clamp_min(1)
    mean = s1 / n
    var = (s2 / n - mean * mean).clamp_min(0)
    return mean.transpose(1, 2), var.transpose(1, 2), cnt
