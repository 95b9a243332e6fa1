"""Classical, training-free baselines: linear gain, auto-gamma, CLAHE, histogram equalisation, Mertens."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from exposurekit.methods.base import Method, SequenceMethod
from exposurekit.methods.registry import register_method
from exposurekit.ops.color import linear_to_srgb, luminance, srgb_to_linear
from exposurekit.ops.convert import array_to_tensor, tensor_to_array
from exposurekit.ops.resize import resize_long_side

_ANALYSIS_SIDE = 512


@register_method("linear-gain", summary="one global gain in linear light to 18% mean luminance (the baseline to beat)",
                 kind="classical")
class LinearGain(Method):
    """Scale linear-light RGB by one gain per image so that mean luminance becomes ``target``.

    Changes only radiometry (as UEC does). Values pushed above 1 clip.

    Args:
        target: mean linear luminance to reach (0.18 = photographic middle grey).
        max_gain: gains are limited to [1/max_gain, max_gain].
    """

    pixelwise = True
    channelwise = True

    def __init__(self, target: float = 0.18, max_gain: float = 64.0) -> None:
        super().__init__()
        if not 0 < target < 1:
            raise ValueError(f"target must be in (0, 1), got {target}")
        self.target, self.max_gain = target, max_gain

    def analyze(self, images: Tensor) -> Tensor:
        """Gain per image, :math:`(B,)`."""
        small = resize_long_side(images, _ANALYSIS_SIDE)
        mean = luminance(small, linear=True).mean(dim=(1, 2, 3)).clamp_min(1e-6)
        return (self.target / mean).clamp(1 / self.max_gain, self.max_gain)

    def apply(self, images: Tensor, state: Tensor) -> Tensor:
        return linear_to_srgb(srgb_to_linear(images) * state.view(-1, 1, 1, 1))


@register_method("auto-gamma", summary="gamma curve bringing mean luminance to a target", kind="classical")
class AutoGamma(Method):
    """Apply :math:`x^{\\gamma}` with :math:`\\gamma = \\log(t) / \\log(\\bar{Y})` per image.

    Args:
        target: mean sRGB-encoded luminance to reach.
        gamma_range: limits of gamma.
    """

    pixelwise = True
    channelwise = True

    def __init__(self, target: float = 0.46, gamma_range: tuple[float, float] = (0.2, 5.0)) -> None:
        super().__init__()
        if not 0 < target < 1:
            raise ValueError(f"target must be in (0, 1), got {target}")
        self.target, self.gamma_range = target, gamma_range

    def analyze(self, images: Tensor) -> Tensor:
        """Gamma per image, :math:`(B,)`."""
        small = resize_long_side(images, _ANALYSIS_SIDE)
        mean = luminance(small).mean(dim=(1, 2, 3)).clamp(1e-4, 1 - 1e-4)
        return (math.log(self.target) / mean.log()).clamp(*self.gamma_range)

    def apply(self, images: Tensor, state: Tensor) -> Tensor:
        return images.clamp_min(0).pow(state.view(-1, 1, 1, 1))


class _OpenCVLightness(Method):
    """Shared path of the OpenCV lightness methods: process L* of CIELAB, keep a* b*."""

    def _lightness(self, l16: np.ndarray) -> np.ndarray:  # (H, W) uint16 -> uint16
        raise NotImplementedError

    def correct_array(self, image: np.ndarray) -> np.ndarray:
        import cv2

        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        f = image.astype(np.float32) / {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
        lab = cv2.cvtColor(f, cv2.COLOR_RGB2LAB)
        l16 = np.clip(lab[:, :, 0] / 100.0 * 65535 + 0.5, 0, 65535).astype(np.uint16)
        lab[:, :, 0] = self._lightness(l16).astype(np.float32) / 65535 * 100
        out = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1)
        if image.dtype == np.uint8:
            return (out * 255 + 0.5).astype(np.uint8)
        if image.dtype == np.uint16:
            return (out * 65535 + 0.5).astype(np.uint16)
        return out.astype(np.float32)

    def correct(self, images: Tensor) -> Tensor:
        from exposurekit.ops.checks import check_image_batch

        check_image_batch(images)
        outs = [array_to_tensor(self.correct_array(tensor_to_array(x[None])), images.device) for x in images]
        return torch.cat(outs)


@register_method("clahe", summary="contrast-limited adaptive histogram equalisation of L* (OpenCV)", kind="classical")
class CLAHE(_OpenCVLightness):
    """CLAHE on the lightness channel of CIELAB; colour (a*, b*) is kept.

    Args:
        clip_limit: OpenCV clip limit.
        tiles: grid of tiles per side.
    """

    def __init__(self, clip_limit: float = 2.0, tiles: int = 8) -> None:
        super().__init__()
        self.clip_limit, self.tiles = clip_limit, tiles

    def _lightness(self, l16: np.ndarray) -> np.ndarray:
        import cv2

        return cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=(self.tiles, self.tiles)).apply(l16)


@register_method("histeq", summary="global histogram equalisation of L*", kind="classical")
class HistogramEqualization(_OpenCVLightness):
    """Global histogram equalisation of L* (CIELAB) with 4096 bins; colour kept.

    Args:
        bins: number of histogram bins.
    """

    def __init__(self, bins: int = 4096) -> None:
        super().__init__()
        self.bins = bins

    def _lightness(self, l16: np.ndarray) -> np.ndarray:
        q = (l16.astype(np.uint32) * self.bins // 65536).astype(np.int64)
        hist = np.bincount(q.ravel(), minlength=self.bins).astype(np.float64)
        cdf = np.cumsum(hist)
        cdf = (cdf - cdf[0]) / max(cdf[-1] - cdf[0], 1.0)
        return (cdf[q] * 65535 + 0.5).astype(np.uint16)


@register_method("mertens", summary="Mertens exposure fusion of a bracket (OpenCV; weights 1,1,1 as in the paper)",
                 kind="fusion", needs_sequence=True)
class Mertens(SequenceMethod):
    """Mertens et al. (2007) exposure fusion of a multi-exposure sequence.

    Args:
        contrast, saturation, exposedness: weight exponents (paper default 1, 1, 1).
    """

    def __init__(self, contrast: float = 1.0, saturation: float = 1.0, exposedness: float = 1.0) -> None:
        super().__init__()
        self.weights = (contrast, saturation, exposedness)

    def fuse(self, stack: Tensor) -> Tensor:
        from exposurekit.fusion.opencv import mertens_opencv

        return mertens_opencv(stack, *self.weights)
