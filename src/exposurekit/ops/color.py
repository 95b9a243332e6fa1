"""Colour helpers: sRGB transfer function and luminance, differentiable, for ``(*, 3, H, W)`` tensors."""

from __future__ import annotations

import torch
from torch import Tensor

REC709 = (0.2126, 0.7152, 0.0722)
"""Luminance weights of linear-light Rec. 709 / sRGB primaries."""
REC601 = (0.299, 0.587, 0.114)
"""Luma weights of Rec. 601 (the "Y" of YCbCr used by PSNR-Y)."""


def srgb_to_linear(x: Tensor) -> Tensor:
    """sRGB-encoded values in [0, 1] to linear light (IEC 61966-2-1).

    Example:
        >>> float(srgb_to_linear(torch.tensor(1.0)))
        1.0
    """
    x = x.clamp(0, 1)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    """Linear light in [0, 1] to sRGB encoding; inverse of :func:`srgb_to_linear`."""
    x = x.clamp(0, 1)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def expose(x: Tensor, ev: float | Tensor) -> Tensor:
    """Change exposure by ``ev`` stops: gain ``2**ev`` in linear light, clip, re-encode to sRGB.

    Args:
        x: :math:`(B, 3, H, W)` sRGB in [0, 1].
        ev: a float, or a :math:`(B,)` tensor (one offset per image).

    Example:
        >>> round(float(expose(torch.full((1, 3, 1, 1), 0.5), 1.0).mean()), 3)
        0.686
    """
    gain = torch.as_tensor(2.0, dtype=x.dtype, device=x.device) ** torch.as_tensor(ev, dtype=x.dtype,
                                                                                    device=x.device)
    if gain.ndim:
        gain = gain.view(-1, 1, 1, 1)
    return linear_to_srgb((srgb_to_linear(x) * gain).clamp(0, 1))


def _weighted(x: Tensor, w: tuple[float, float, float]) -> Tensor:
    if x.shape[-3] != 3:
        raise ValueError(f"expected 3 channels at dim -3, got shape {tuple(x.shape)}")
    r, g, b = x.unbind(-3)
    return (w[0] * r + w[1] * g + w[2] * b).unsqueeze(-3)


def luminance(x: Tensor, linear: bool = False) -> Tensor:
    """Relative luminance :math:`(*, 1, H, W)` of sRGB images :math:`(*, 3, H, W)`.

    Args:
        x: sRGB values in [0, 1].
        linear: return linear-light luminance Y (Rec. 709 weights on linearised RGB) instead of
            the sRGB-encoded luma (Rec. 709 weights on the encoded values).
    """
    return _weighted(srgb_to_linear(x), REC709) if linear else _weighted(x, REC709)


def rgb_to_y(x: Tensor) -> Tensor:
    """Rec. 601 luma in [0, 1] (the Y of YCbCr, without the 16-235 offset) :math:`(*, 1, H, W)`."""
    return _weighted(x, REC601)
