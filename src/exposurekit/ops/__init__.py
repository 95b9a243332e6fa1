"""Pure, differentiable image operations shared by methods, losses and metrics."""

from __future__ import annotations

from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.color import expose, linear_to_srgb, luminance, rgb_to_y, srgb_to_linear
from exposurekit.ops.convert import array_to_tensor, tensor_to_array
from exposurekit.ops.resize import resize_height, resize_long_side, resize_to
from exposurekit.ops.tiling import tiled_apply

__all__ = [
    "array_to_tensor",
    "check_image_batch",
    "expose",
    "linear_to_srgb",
    "luminance",
    "resize_height",
    "resize_long_side",
    "resize_to",
    "rgb_to_y",
    "srgb_to_linear",
    "tensor_to_array",
    "tiled_apply",
]
