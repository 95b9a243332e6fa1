"""No-reference exposure statistics for images without ground truth, one score per image.

These are descriptive, not "quality": a good exposure has mean luminance near mid-grey, few clipped
pixels and natural colourfulness. Pair them with :mod:`exposurekit.metrics.niqe` for naturalness.
"""

from __future__ import annotations

import torch
from torch import Tensor

from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.color import luminance

__all__ = ["clipped_fractions", "colourfulness", "mean_luminance", "mean_luminance_error"]


def mean_luminance(images: Tensor) -> Tensor:
    """Mean sRGB-encoded Rec. 709 luma per image.

    Args:
        images: :math:`(B, 3, H, W)` sRGB in [0, 1].

    Returns:
        :math:`(B,)` in [0, 1].
    """
    check_image_batch(images)
    return luminance(images).mean(dim=(1, 2, 3))


def mean_luminance_error(images: Tensor, target: float = 0.5) -> Tensor:
    r"""Absolute distance of the mean luma from mid-grey, :math:`|\bar{Y} - t|`.

    Args:
        images: :math:`(B, 3, H, W)` sRGB in [0, 1].
        target: mid-grey in sRGB-encoded luma (0.5 = half of the code range; 0.18 linear is 0.46).

    Returns:
        :math:`(B,)` in [0, max(target, 1 - target)]; lower means closer to a mid-grey average.

    Example:
        >>> float(mean_luminance_error(torch.full((1, 3, 4, 4), 0.25)))
        0.25
    """
    return (mean_luminance(images) - target).abs()


def clipped_fractions(images: Tensor, low: float = 1.0 / 255, high: float = 254.0 / 255) -> tuple[Tensor, Tensor]:
    """Fractions of crushed-shadow and clipped-highlight pixels per image.

    A pixel counts as a crushed shadow when *all* its channels are ``<= low`` (black, detail lost) and as
    a clipped highlight when *any* channel is ``>= high`` (that channel saturated).

    Args:
        images: :math:`(B, 3, H, W)` in [0, 1].
        low: shadow threshold (default 1/255, i.e. 8-bit codes 0 and 1).
        high: highlight threshold (default 254/255, codes 254 and 255).

    Returns:
        ``(shadows, highlights)``, each :math:`(B,)` in [0, 1].

    Example:
        >>> x = torch.zeros(1, 3, 2, 2); x[..., 0, 0] = 1.0
        >>> [float(t) for t in clipped_fractions(x)]
        [0.75, 0.25]
    """
    check_image_batch(images)
    shadows = (images <= low).all(dim=1).float().mean(dim=(1, 2))
    highlights = (images >= high).any(dim=1).float().mean(dim=(1, 2))
    return shadows, highlights


def colourfulness(images: Tensor) -> Tensor:
    r"""Hasler & Süsstrunk (2003) colourfulness, on the 0-255 scale of the paper.

    .. math::
        rg = R - G,\quad yb = \tfrac12 (R + G) - B,\quad
        M = \sqrt{\sigma_{rg}^2 + \sigma_{yb}^2} + 0.3 \sqrt{\mu_{rg}^2 + \mu_{yb}^2}

    with population standard deviations over the pixels. Paper scale: 0 not colourful, ~15 slightly,
    ~33 moderately, ~45 averagely, ~59 quite, ~82 highly, ~109 extremely colourful.

    Args:
        images: :math:`(B, 3, H, W)` sRGB in [0, 1] (multiplied by 255 inside).

    Returns:
        :math:`(B,)`.

    Reference:
        D. Hasler, S. Süsstrunk, "Measuring colourfulness in natural images", SPIE 5007, 2003.

    Example:
        >>> float(colourfulness(torch.full((1, 3, 4, 4), 0.3)))
        0.0
    """
    check_image_batch(images)
    x = images.double() * 255.0
    r, g, b = x.unbind(1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    sigma = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mu = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return (sigma + 0.3 * mu).to(images.dtype)
