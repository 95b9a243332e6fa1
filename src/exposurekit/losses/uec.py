"""UEC training losses: restoration within a sequence, monotonic order across scenes, total variation.

Reference:
    Unsupervised Exposure Correction, ECCV 2024 (arXiv 2507.17252), and ``docs/uec.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

__all__ = ["UECLossWeights", "monotonic_loss", "restoration_loss", "total_variation"]


@dataclass
class UECLossWeights:
    """Weights of the three UEC terms (1, 1, 0.1 in the paper).

    Attributes:
        restoration: MSE of the corrected frame against the other frame of the pair.
        monotonic: the "monopoly" order term across scenes.
        tv: total variation of the output (the authors later dropped it; see ``docs/uec.md``).
    """

    restoration: float = 1.0
    monotonic: float = 1.0
    tv: float = 0.1


def restoration_loss(output: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error between the corrected frame and the frame it was corrected towards.

    Args:
        output: :math:`(B, 3, H, W)`.
        target: :math:`(B, 3, H, W)`.
        reduction: ``"mean"`` (a scalar) or ``"none"`` (one value per image, :math:`(B,)`).
    """
    per = ((output - target) ** 2).flatten(1).mean(1)
    return per.mean() if reduction == "mean" else per


def monotonic_loss(towards_dark: Tensor, towards_bright: Tensor, reduction: str = "mean") -> Tensor:
    """Order ("monopoly") loss: correcting towards a darker reference must not give a brighter result.

    ``mean(ReLU(G(I, J_dark) − G(I, J_bright)))`` over pixels and channels, where ``J_dark`` and
    ``J_bright`` are two exposures of *another* scene with ``EV(J_dark) < EV(J_bright)``.

    Args:
        towards_dark: :math:`(B, 3, H, W)` output with the darker reference.
        towards_bright: :math:`(B, 3, H, W)` output with the brighter reference.
        reduction: ``"mean"`` or ``"none"`` (:math:`(B,)`).

    Example:
        >>> x = torch.rand(2, 3, 4, 4)
        >>> float(monotonic_loss(x * 0.5, x))
        0.0
    """
    per = F.relu(towards_dark - towards_bright).flatten(1).mean(1)
    return per.mean() if reduction == "mean" else per


def total_variation(x: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared difference of horizontally and vertically neighbouring pixels.

    Args:
        x: :math:`(B, C, H, W)`.
        reduction: ``"mean"`` or ``"none"`` (:math:`(B,)`).

    Example:
        >>> float(total_variation(torch.ones(1, 3, 5, 5)))
        0.0
    """
    dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).pow(2).flatten(1).mean(1)
    dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).pow(2).flatten(1).mean(1)
    per = dh + dw
    return per.mean() if reduction == "mean" else per
