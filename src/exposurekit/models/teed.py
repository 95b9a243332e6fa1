"""TEED edge detector (Soria et al., "Tiny and Efficient Model for the Edge Detection Generalization",
ICCV Workshops 2023), written from the paper for the downstream edge-detection metric.

It loads the authors' BIPED-trained checkpoint (``teed_biped.pth``, 58,910 parameters); the state-dict keys
and shapes fix the layout:

* Smish activation :math:`x \\tanh(\\log(1 + \\sigma(x)))` everywhere (the paper's choice), no batch norm.
* block 1: 3×3 conv 3→16 stride 2, Smish, 3×3 conv 16→16, Smish (1/2 resolution).
* block 2: 3×3 conv 16→32, Smish, 3×3 conv 32→32; then 3×3 max-pool stride 2 and the sum with a 1×1
  stride-2 projection (16→32) of block 1 (1/4 resolution).
* block 3: a one-layer dense block fed by that sum and a 1×1 projection (32→48) of the pooled block 2:
  ``0.5 · (conv(Smish(conv(Smish(x)))) + projection)`` with a 3×3 conv (padding 2) then a 3×3 conv
  (no padding), 32→48→48.
* upsampling heads (USNet): 1×1 conv to 1 (or 16) channels, Smish, transposed conv ×2 (kernel 2 for one
  step, kernel 4 padding 1 for each of two steps), giving one full-resolution map per block.
* double fusion (dfuse): the three maps → Smish → depthwise 3×3 conv (3→24, groups 3) = a; Smish(a) →
  depthwise 3×3 conv (24→24) = b; output Smish(Σ_channels (a + b)).
* input: BGR on the 0-255 scale minus the per-channel means (103.939, 116.779, 123.68); outputs through
  a sigmoid. Inputs are padded (reflect) to a multiple of 4 and cropped back.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["TEED", "load_teed", "smish"]

BGR_MEAN = (103.939, 116.779, 123.68)


def smish(x: Tensor) -> Tensor:
    """Smish activation, :math:`x \\tanh(\\log(1 + \\sigma(x)))`."""
    return x * torch.tanh(torch.log1p(torch.sigmoid(x)))


class Smish(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return smish(x)


class DoubleConv(nn.Module):
    """conv3×3 (stride s) → Smish → conv3×3 [→ Smish]."""

    def __init__(self, in_ch: int, mid: int, out_ch: int, stride: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, mid, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(mid, out_ch, 3, padding=1)
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv2(smish(self.conv1(x)))
        return smish(x) if self.act else x


class SingleConv(nn.Module):
    """A 1×1 convolution (with stride)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1, stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class DenseLayer(nn.Module):
    """``0.5 · (conv2(Smish(conv1(Smish(x1)))) + x2)``; conv1 pads 2 and conv2 pads 0 (same size overall)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=2)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return 0.5 * (self.conv2(smish(self.conv1(smish(x1)))) + x2)


class DenseBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.denselayer1 = DenseLayer(in_ch, out_ch)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return self.denselayer1(x1, x2)


class UpConv(nn.Module):
    """``up_scale`` steps of [1×1 conv, Smish, transposed conv ×2]; 16 channels inside, 1 out."""

    def __init__(self, in_ch: int, up_scale: int, mid: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        k = 2**up_scale
        pad = {1: 0, 2: 1}[up_scale]
        for i in range(up_scale):
            out = 1 if i == up_scale - 1 else mid
            layers += [nn.Conv2d(in_ch, out, 1), Smish(), nn.ConvTranspose2d(out, out, k, stride=2, padding=pad)]
            in_ch = out
        self.features = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


class DoubleFusion(nn.Module):
    """Fuse the side maps with two depthwise 3×3 convolutions (see module docstring)."""

    def __init__(self, n_maps: int = 3, width: int = 24) -> None:
        super().__init__()
        self.DWconv1 = nn.Conv2d(n_maps, width, 3, padding=1, groups=n_maps)  # noqa: N815 (checkpoint names)
        self.DWconv2 = nn.Conv2d(width, width, 3, padding=1, groups=width)  # noqa: N815

    def forward(self, x: Tensor) -> Tensor:
        a = self.DWconv1(smish(x))
        b = self.DWconv2(smish(a))
        return smish((a + b).sum(1, keepdim=True))


class TEED(nn.Module):
    """TEED: three blocks, three upsampled side maps and a double fusion.

    The fused map's sigmoid sits near 0.5 on flat regions (the fusion ends in Smish, whose minimum is
    about -0.3), so — as the TEED/DexiNed evaluations do before saving maps — ``forward`` rescales each
    fused map to [0, 1] by its minimum and maximum (``rescale=False`` returns the raw sigmoid).

    Args:
        rescale: min-max rescale the fused output per image.

    Shape:
        input :math:`(B, 3, H, W)` RGB in [0, 1]; output :math:`(B, 1, H, W)` edge strength in [0, 1].
    """

    def __init__(self, rescale: bool = True) -> None:
        super().__init__()
        self.config: dict = {"rescale": rescale}
        self.rescale = rescale
        self.block_1 = DoubleConv(3, 16, 16, stride=2)
        self.block_2 = DoubleConv(16, 32, 32, act=False)
        self.dblock_3 = DenseBlock(32, 48)
        self.side_1 = SingleConv(16, 32, stride=2)
        self.pre_dense_3 = SingleConv(32, 48)
        self.up_block_1 = UpConv(16, 1)
        self.up_block_2 = UpConv(32, 1)
        self.up_block_3 = UpConv(48, 2)
        self.block_cat = DoubleFusion(3, 24)
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)

    def side_outputs(self, images: Tensor) -> list[Tensor]:
        """Three side maps and the fused map, each :math:`(B, 1, H, W)` probabilities."""
        h, w = images.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        x = F.pad(images, (0, pw, 0, ph), mode="reflect") if ph or pw else images
        x = x.flip(1) * 255.0 - self.mean  # RGB [0,1] -> BGR 0-255 minus mean
        b1 = self.block_1(x)
        b2 = self.block_2(b1)
        b2_down = F.max_pool2d(b2, 3, stride=2, padding=1)
        b2_add = b2_down + self.side_1(b1)
        b3 = self.dblock_3(b2_add, self.pre_dense_3(b2_down))
        maps = [self.up_block_1(b1), self.up_block_2(b2), self.up_block_3(b3)]
        maps.append(self.block_cat(torch.cat(maps, 1)))
        return [torch.sigmoid(m[..., :h, :w]) for m in maps]

    def forward(self, images: Tensor) -> Tensor:
        """Fused edge map, min-max rescaled per image to [0, 1] when ``rescale`` (see class docstring)."""
        e = self.side_outputs(images)[-1]
        if not self.rescale:
            return e
        lo = e.amin(dim=(1, 2, 3), keepdim=True)
        hi = e.amax(dim=(1, 2, 3), keepdim=True)
        return (e - lo) / (hi - lo).clamp_min(1e-6)


def load_teed(path: str | Path, device: str | torch.device = "cpu") -> TEED:
    """Build :class:`TEED` and load the authors' checkpoint (a plain state dict)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = TEED()
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)
