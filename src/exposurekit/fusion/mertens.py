"""Differentiable Mertens exposure fusion in torch (Mertens, Kautz and Van Reeth, 2007).

Per pixel and frame the weight is :math:`W = C^{w_c} \\cdot S^{w_s} \\cdot E^{w_e} + 10^{-12}` with

* :math:`C = |\\Delta Y|`, the absolute 3×3 Laplacian of grey :math:`Y = 0.299R + 0.587G + 0.114B`,
* :math:`S = \\sqrt{\\sum_c (I_c - \\bar{I})^2} = \\sqrt{3} \\cdot` the standard deviation over R, G, B
  (OpenCV's scaling; the constant matters only against the :math:`10^{-12}` floor),
* :math:`E = \\prod_c \\exp(-(I_c - 0.5)^2 / (2 \\cdot 0.2^2))`, the well-exposedness,

normalised over the stack; the frames' Laplacian pyramids are blended with the Gaussian pyramids of the
weights, depth ``floor(log2(min(H, W)))``. Borders, grey weights and pyramid filters follow OpenCV's
``createMergeMertens`` (reflect-101 borders, the 5-tap binomial kernel), so that with the same exponents
the two agree to float precision (see ``tests/test_fusion_mertens.py`` and ``docs/loopexpose.md``).
Unlike OpenCV's default (``we = 0``) the default here is the paper's 1, 1, 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["gaussian_pyramid", "laplacian_pyramid", "mertens_fusion", "mertens_weights", "pyramid_depth"]

_GREY = (0.299, 0.587, 0.114)
_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)
_EPS = 1e-12


def pyramid_depth(height: int, width: int) -> int:
    """Number of pyramid reductions used for an image: ``floor(log2(min(H, W)))`` (as OpenCV)."""
    return int(math.log(float(min(height, width))) / math.log(2.0))


def _reflect101_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Indices of a length-``n`` axis padded by ``pad`` on each side with OpenCV's BORDER_REFLECT_101."""
    idx = []
    for p in range(-pad, n + pad):
        if n == 1:
            idx.append(0)
            continue
        while not 0 <= p < n:
            p = -p if p < 0 else 2 * n - p - 2
        idx.append(p)
    return torch.tensor(idx, dtype=torch.long, device=device)


def _pad101(x: Tensor, pad: int) -> Tensor:
    """Pad the last two dims of ``(B, C, H, W)`` by ``pad`` with reflect-101 (works for any size >= 1)."""
    h, w = x.shape[-2:]
    if h > pad and w > pad:
        return F.pad(x, (pad, pad, pad, pad), mode="reflect")  # torch's "reflect" is reflect-101
    x = x.index_select(-2, _reflect101_index(h, pad, x.device))
    return x.index_select(-1, _reflect101_index(w, pad, x.device))


def _blur5(x: Tensor, scale: float = 1.0) -> Tensor:
    """Separable 5-tap binomial blur ``[1,4,6,4,1]/16`` per channel, reflect-101 borders."""
    c = x.shape[1]
    k = torch.tensor(_BINOMIAL, dtype=x.dtype, device=x.device) / 16.0 * scale
    x = _pad101(x, 2)
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def _down_last(x: Tensor) -> Tensor:
    """``pyrDown`` along the last dim: 5-tap binomial at even positions, reflect-101 borders."""
    n = x.shape[-1]
    m = (n + 1) // 2
    p = x.index_select(-1, _reflect101_index(n, 2, x.device))
    return (p[..., 0:2 * m:2] + p[..., 4:2 * m + 4:2] + 4 * (p[..., 1:2 * m + 1:2] + p[..., 3:2 * m + 3:2])
            + 6 * p[..., 2:2 * m + 2:2]) / 16


def _up_last(x: Tensor, n_out: int) -> Tensor:
    """``pyrUp`` along the last dim, polyphase form of zero insertion + 2× the binomial kernel."""
    # zero insertion puts s[i] at 2i; reflect-101 of that array mirrors s[1] before s[0] and repeats
    # s[h-1] after the end (index 2h maps to 2h-2)
    h = x.shape[-1]
    prev = x.index_select(-1, _reflect101_index(h, 1, x.device)[:h])
    nxt = torch.cat([x[..., 1:], x[..., -1:]], dim=-1)
    even = (prev + nxt + 6 * x) / 8
    odd = (x + nxt) / 2
    return torch.stack([even, odd], dim=-1).flatten(-2)[..., :n_out]


def _pyr_down(x: Tensor) -> Tensor:
    """OpenCV ``pyrDown``: blur, keep even rows and columns; size ``((H+1)//2, (W+1)//2)``."""
    return _down_last(_down_last(x).transpose(-1, -2)).transpose(-1, -2)


def _pyr_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    """OpenCV ``pyrUp``: insert zeros, blur with 4× the kernel, crop to ``size`` (computed polyphase)."""
    return _up_last(_up_last(x, size[1]).transpose(-1, -2), size[0]).transpose(-1, -2)


def gaussian_pyramid(x: Tensor, depth: int) -> list[Tensor]:
    """Gaussian pyramid of ``(B, C, H, W)``: ``depth + 1`` levels, the first is ``x``."""
    levels = [x]
    for _ in range(depth):
        levels.append(_pyr_down(levels[-1]))
    return levels


def laplacian_pyramid(x: Tensor, depth: int) -> list[Tensor]:
    """Laplacian pyramid of ``(B, C, H, W)``: ``depth`` band-pass levels plus the coarsest Gaussian level."""
    gauss = gaussian_pyramid(x, depth)
    out = [g - _pyr_up(gauss[i + 1], tuple(g.shape[-2:])) for i, g in enumerate(gauss[:-1])]
    out.append(gauss[-1])
    return out


def _collapse(pyr: list[Tensor]) -> Tensor:
    img = pyr[-1]
    for lvl in reversed(pyr[:-1]):
        img = lvl + _pyr_up(img, tuple(lvl.shape[-2:]))
    return img


def _safe_pow(x: Tensor, p: float) -> Tensor:
    """``x ** p`` for ``x >= 0`` with ``0 ** p = 0`` (p > 0) and finite gradients."""
    if p == 0:
        return torch.ones_like(x)
    if p == 1:
        return x
    return torch.where(x > 0, x.clamp_min(_EPS).pow(p), torch.zeros_like(x))


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0``, exactly 0 at 0 (as OpenCV), with a finite gradient there."""
    return torch.where(x > 0, x.clamp_min(_EPS).sqrt(), torch.zeros_like(x))


def mertens_weights(frames: Tensor, contrast: float = 1.0, saturation: float = 1.0,
                    exposedness: float = 1.0, sigma: float = 0.2) -> Tensor:
    """Un-normalised Mertens weights of each frame.

    Args:
        frames: :math:`(N, 3, H, W)` RGB in [0, 1].
        contrast, saturation, exposedness: exponents :math:`w_c, w_s, w_e`.
        sigma: width of the well-exposedness Gaussian around 0.5.

    Returns:
        :math:`(N, 1, H, W)` weights, each at least 1e-12.
    """
    grey_w = torch.tensor(_GREY, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    grey = (frames * grey_w).sum(1, keepdim=True)
    lap_k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=frames.dtype,
                         device=frames.device).view(1, 1, 3, 3)
    w = _safe_pow(F.conv2d(_pad101(grey, 1), lap_k).abs(), contrast)
    if saturation != 0:
        # OpenCV's order of float operations: achromatic pixels give S = 0 exactly in both
        r, g, bl = frames[:, 0:1], frames[:, 1:2], frames[:, 2:3]
        mean = (r + g + bl) / 3
        var = (r - mean) ** 2 + (g - mean) ** 2 + (bl - mean) ** 2  # 3·variance, as OpenCV
        w = w * _safe_pow(_safe_sqrt(var), saturation)
    if exposedness != 0:
        e = torch.exp(-(frames - 0.5).pow(2) / (2 * sigma**2)).prod(1, keepdim=True)
        w = w * _safe_pow(e, exposedness)
    return w + _EPS


def mertens_fusion(stack: Tensor, contrast: float = 1.0, saturation: float = 1.0, exposedness: float = 1.0,
                   depth: int | None = None, clamp: bool = True) -> Tensor:
    """Fuse a multi-exposure stack with Mertens' weights and Laplacian-pyramid blending (differentiable).

    Memory is bounded by one frame's pyramid plus the accumulated result pyramid (frames are blended
    one at a time), so long sequences at full resolution fit.

    Args:
        stack: :math:`(N, 3, H, W)` frames of one scene, or :math:`(B, N, 3, H, W)` for B scenes of equal
            size; RGB in [0, 1], any order, any :math:`N \\ge 1`.
        contrast, saturation, exposedness: weight exponents (the paper's default is 1, 1, 1;
            OpenCV's ``createMergeMertens()`` default is 1, 1, 0).
        depth: pyramid reductions; default ``floor(log2(min(H, W)))``.
        clamp: clamp the result to [0, 1] (pyramid blending overshoots slightly at strong edges).

    Returns:
        :math:`(1, 3, H, W)` for a 4-D stack, :math:`(B, 3, H, W)` for a 5-D one.

    Example:
        >>> stack = torch.rand(3, 3, 32, 40)
        >>> mertens_fusion(stack).shape
        torch.Size([1, 3, 32, 40])
    """
    if stack.ndim == 4:
        stack = stack.unsqueeze(0)
    if stack.ndim != 5 or stack.shape[2] != 3:
        raise ValueError(f"expected (N, 3, H, W) or (B, N, 3, H, W), got {tuple(stack.shape)}")
    b, n, _, h, w = stack.shape
    if n < 1:
        raise ValueError("the stack holds no frames")
    levels = pyramid_depth(h, w) if depth is None else int(depth)
    weights = mertens_weights(stack.flatten(0, 1), contrast, saturation, exposedness).view(b, n, 1, h, w)
    weights = weights / weights.sum(1, keepdim=True)
    result: list[Tensor] | None = None
    for i in range(n):
        lap = laplacian_pyramid(stack[:, i], levels)
        wp = gaussian_pyramid(weights[:, i], levels)
        terms = [band * wt for band, wt in zip(lap, wp)]
        result = terms if result is None else [r + t for r, t in zip(result, terms)]
    assert result is not None
    fused = _collapse(result)
    return fused.clamp(0, 1) if clamp else fused
