"""DCE-Net, the curve-estimation network of Zero-DCE (Guo et al., CVPR 2020).

Seven 3×3 convolutions of 32 filters with ReLU and no pooling; the second half concatenates the
mirrored feature maps of the first half (x3‖x4 → conv5, x2‖x5 → conv6, x1‖x6 → conv7). The last
convolution gives 24 channels squashed by tanh: eight RGB triplets of per-pixel curve parameters
:math:`r_n \\in [-1, 1]`, applied in turn as the light-enhancement curve

.. math::

    x \\leftarrow x + r_n \\, (x^2 - x), \\qquad n = 1, \\dots, 8.

The curve maps [0, 1] onto [0, 1] for any :math:`r_n \\in [-1, 1]` and is monotonic, so the output
needs no clamp. 79,416 parameters with the default sizes.

Reference:
    C. Guo, C. Li, J. Guo, C. C. Loy, J. Hou, S. Kwong, R. Cong. "Zero-Reference Deep Curve Estimation
    for Low-Light Image Enhancement", CVPR 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["DCENet", "DCEOutput", "apply_curves", "flush_subnormal_"]


@dataclass
class DCEOutput:
    """What :class:`DCENet` returns.

    Attributes:
        image: :math:`(B, 3, H, W)` enhanced image in [0, 1] (after all iterations).
        curves: :math:`(B, 3 \\cdot n, H, W)` curve parameters in [-1, 1], iteration-major
            (channels ``3k:3k+3`` are the RGB parameters of iteration ``k``).
    """

    image: Tensor
    curves: Tensor


def apply_curves(images: Tensor, curves: Tensor) -> Tensor:
    """Apply the quadratic light-enhancement curve once per RGB triplet of ``curves``.

    Args:
        images: :math:`(B, 3, H, W)` in [0, 1].
        curves: :math:`(B, 3 n, H, W)` parameters in [-1, 1].

    Returns:
        :math:`(B, 3, H, W)` in [0, 1].

    Example:
        >>> x = torch.full((1, 3, 2, 2), 0.25)
        >>> bool((apply_curves(x, torch.ones(1, 3, 2, 2)) > x).all())
        True
    """
    if curves.shape[1] % 3 or curves.shape[0] != images.shape[0] or curves.shape[-2:] != images.shape[-2:]:
        raise ValueError(f"curves {tuple(curves.shape)} do not match images {tuple(images.shape)} "
                         "(expected (B, 3n, H, W))")
    x = images
    for r in torch.split(curves, 3, dim=1):
        x = x + r * (x * x - x)
    return x


class DCENet(nn.Module):
    """Deep curve estimation network.

    Args:
        width: filters per convolution (32 in the paper).
        iterations: curve iterations n (8 in the paper); the head has ``3 * iterations`` channels.

    Shape:
        - Input: :math:`(B, 3, H, W)` in [0, 1], any H, W ≥ 1.
        - Output: :class:`DCEOutput` with image :math:`(B, 3, H, W)` and curves :math:`(B, 3n, H, W)`.

    Example:
        >>> net = DCENet()
        >>> sum(p.numel() for p in net.parameters())
        79416
        >>> net(torch.rand(2, 3, 17, 9)).image.shape
        torch.Size([2, 3, 17, 9])
    """

    def __init__(self, width: int = 32, iterations: int = 8) -> None:
        super().__init__()
        if width < 1 or iterations < 1:
            raise ValueError(f"width and iterations must be positive, got {width}, {iterations}")
        self.config = {"width": width, "iterations": iterations}
        self.iterations = iterations

        def conv(cin: int, cout: int) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, 3, padding=1, bias=True)

        self.conv1 = conv(3, width)
        self.conv2 = conv(width, width)
        self.conv3 = conv(width, width)
        self.conv4 = conv(width, width)
        self.conv5 = conv(2 * width, width)
        self.conv6 = conv(2 * width, width)
        self.conv7 = conv(2 * width, 3 * iterations)
        self.relu = nn.ReLU(inplace=True)
        self.reset_parameters()

    def reset_parameters(self, std: float = 0.02) -> None:
        """Weights from :math:`N(0, 0.02^2)`, biases zero: the curves start near the identity."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, std)
                nn.init.zeros_(m.bias)

    def curve_maps(self, images: Tensor) -> Tensor:
        """Per-pixel curve parameters :math:`(B, 3n, H, W)` in [-1, 1]."""
        x1 = self.relu(self.conv1(images))
        x2 = self.relu(self.conv2(x1))
        x3 = self.relu(self.conv3(x2))
        x4 = self.relu(self.conv4(x3))
        x5 = self.relu(self.conv5(torch.cat([x3, x4], 1)))
        x6 = self.relu(self.conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.conv7(torch.cat([x1, x6], 1)))

    def forward(self, images: Tensor) -> DCEOutput:
        curves = self.curve_maps(images)
        return DCEOutput(apply_curves(images, curves), curves)

    def enhance(self, images: Tensor) -> Tensor:
        """Only the enhanced image, :math:`(B, 3, H, W)` (what tiling and inference need)."""
        return apply_curves(images, self.curve_maps(images))


def flush_subnormal_(module: nn.Module) -> int:
    """Set every subnormal (denormal) float in ``module``'s parameters and buffers to zero, in place.

    Subnormal weights make CPU convolutions 20–100× slower (the released Zero-DCE checkpoint holds
    19,266 of them); zeroing them changes outputs by less than the smallest normal float.

    Returns:
        How many values were zeroed.
    """
    n = 0
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if not t.dtype.is_floating_point:
                continue
            tiny = torch.finfo(t.dtype).tiny
            mask = (t != 0) & (t.abs() < tiny)
            n += int(mask.sum())
            t.masked_fill_(mask, 0.0)
    return n
