"""The enhancement network shared by CLIP-LIT, CLIP-LIT-Latent and RAVE (278,790 parameters).

Fully convolutional, no downsampling, 3×3 convolutions at stride 1. It predicts a one-channel
illumination map ``L`` and returns ``clamp(I / L, 0, 1)``. Made safe compared with the published code:

* ``L`` has a floor (``l_floor``, default 0.05 = at most 20× gain), so a dark pixel never becomes NaN
  or infinity;
* every 3×3 convolution pads itself the same way in training and inference: reflect padding, or zero
  padding when a side is a single pixel (reflect needs two);
* the last convolution's bias starts at 1, so that the untrained network is (almost) the identity
  (``L ≈ 1``) instead of dividing by ``ReLU(≈0)``;
* any batch and size (down to 1×1); RGBA and grey inputs are handled by the I/O layer, which hands the
  network RGB only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["EnhanceNet", "EnhanceOutput"]


class _Conv3(nn.Module):
    """3×3 stride-1 convolution with reflect-or-zero padding done in ``forward``."""

    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 0, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        mode = "reflect" if min(x.shape[-2:]) > 1 else "constant"
        return self.conv(F.pad(x, (1, 1, 1, 1), mode=mode))


class _ResBlock(nn.Module):
    """conv, LeakyReLU, conv, add input, LeakyReLU (no bias)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = _Conv3(ch, ch, bias=False)
        self.conv2 = _Conv3(ch, ch, bias=False)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class _PyramidPooling(nn.Module):
    """Average pools to 1, 2, 3, 6 bins, each 1×1 32→8 + PReLU, upsampled, concatenated → 3×3 → 32."""

    def __init__(self, ch: int = 32, bins: tuple[int, ...] = (1, 2, 3, 6), branch: int = 8) -> None:
        super().__init__()
        self.bins = bins
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(ch, branch, 1, bias=False), nn.PReLU()) for _ in bins
        )
        self.fuse = _Conv3(ch + branch * len(bins), ch, bias=False)
        self.act = nn.PReLU()

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        feats = [x]
        for b, branch in zip(self.bins, self.branches, strict=True):
            y = branch(F.adaptive_avg_pool2d(x, b))
            feats.append(F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False))
        return self.act(self.fuse(torch.cat(feats, dim=1)))


@dataclass
class EnhanceOutput:
    """Output of :class:`EnhanceNet`.

    Attributes:
        image: :math:`(B, 3, H, W)` enhanced image ``clamp(I / L, 0, 1)``.
        illumination: :math:`(B, 1, H, W)` illumination map ``L`` (at least ``l_floor``).
    """

    image: Tensor
    illumination: Tensor


class EnhanceNet(nn.Module):
    """Illumination-map enhancement network of CLIP-LIT / RAVE.

    Args:
        l_floor: lower bound of the illumination map (the largest gain is ``1 / l_floor``).
        init: ``"kaiming"`` (default: He-normal weights, so that the signal reaches the last layer and
            short CPU trainings move; last layer ×0.002) or ``"normal"`` (published N(0, ``init_std``)).
        init_std: standard deviation of the ``"normal"`` initialisation (published: 0.02).

    Shape:
        - Input: :math:`(B, 3, H, W)` RGB in [0, 1], any ``H, W >= 1``.
        - Output: :math:`(B, 3, H, W)` in [0, 1] (``forward``); :meth:`enhance` also returns ``L``.

    Example:
        >>> net = EnhanceNet()
        >>> sum(p.numel() for p in net.parameters())
        278790
        >>> net(torch.rand(2, 3, 17, 9)).shape
        torch.Size([2, 3, 17, 9])
    """

    def __init__(self, l_floor: float = 0.05, init: str = "kaiming", init_std: float = 0.02) -> None:
        super().__init__()
        if not 0 < l_floor <= 1:
            raise ValueError(f"l_floor must be in (0, 1], got {l_floor}")
        if init not in ("kaiming", "normal"):
            raise ValueError(f"init must be 'kaiming' or 'normal', got {init!r}")
        self.config: dict[str, Any] = {"l_floor": l_floor, "init": init, "init_std": init_std}
        self.l_floor = l_floor
        act = nn.LeakyReLU(0.2)
        self.head = nn.Sequential(_Conv3(3, 32), act)
        self.res_a = nn.Sequential(_ResBlock(32), _ResBlock(32))
        self.ppm = _PyramidPooling(32)
        self.up = nn.Sequential(_Conv3(32, 64), nn.LeakyReLU(0.2))
        self.res_b = nn.Sequential(_ResBlock(64), _ResBlock(64))
        self.down = nn.Sequential(_Conv3(64, 32), nn.LeakyReLU(0.2))
        self.res_c = nn.Sequential(_ResBlock(32), _ResBlock(32))
        self.tail = _Conv3(32, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights as ``config["init"]`` says, zero biases, last bias 1 (so that ``L ≈ 1`` at the start)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if self.config["init"] == "normal":
                    nn.init.normal_(m.weight, 0.0, self.config["init_std"])
                else:
                    nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.config["init"] == "kaiming":
            with torch.no_grad():
                self.tail.conv.weight.mul_(0.002)
        nn.init.ones_(self.tail.conv.bias)

    def illumination(self, images: Tensor) -> Tensor:
        """Illumination map :math:`(B, 1, H, W)`, at least ``l_floor``, of :math:`(B, 3, H, W)` images."""
        x = self.res_a(self.head(images))
        x = self.res_c(self.down(self.res_b(self.up(self.ppm(x)))))
        return F.relu(self.tail(x)).clamp_min(self.l_floor)

    def enhance(self, images: Tensor) -> EnhanceOutput:
        """Enhanced image and illumination map (see :class:`EnhanceOutput`)."""
        light = self.illumination(images)
        return EnhanceOutput((images / light).clamp(0, 1), light)

    def forward(self, images: Tensor) -> Tensor:
        return self.enhance(images).image
