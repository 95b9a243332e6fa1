"""PiDiNet edge detector (Su et al., "Pixel Difference Networks for Efficient Edge Detection", ICCV 2021).

Written from the paper for the downstream edge-detection metric; it loads the authors' BSDS-trained
"Table 5" checkpoints (``table5_pidinet{,-small,-tiny}.pth``), whose state-dict keys and shapes fix the
layout below.

Architecture (the paper's Fig. 4 / Sec. 3):

* 4 stages of 4 layers; channels C, 2C, 4C, 4C (C = 60 PiDiNet, 30 small, 20 tiny). The first layer is a
  plain 3×3 pixel-difference convolution 3→C (``init_block``); every other layer is a residual block
  ``x + conv1×1(ReLU(depthwise PDC 3×3(x)))``. The first block of stages 2-4 max-pools by 2 and adds a 1×1
  (biased) shortcut.
* Pixel-difference convolutions (PDC) per layer, in the order ``cd, ad, rd, cv`` within each stage (the
  "carv4" configuration of the Table 5 models):

  - ``cv``  vanilla convolution;
  - ``cd``  central differences :math:`\\sum_i w_i (x_i - x_c)`;
  - ``ad``  angular differences :math:`\\sum_i w_i (x_i - x_{i^+})`, :math:`i^+` the next pixel clockwise on
    the 3×3 ring (centre weight unused);
  - ``rd``  radial differences :math:`\\sum_i w_i (x^{(2)}_i - x^{(1)}_i)` between the pixel two steps
    and one step away in each of the 8 directions (a 5×5 support). The checkpoints keep these 8 weights
    in flat slots 1-8 of the 3×3 weight tensor (directions in raster order; slot 0 unused).

  Each PDC is converted to the equivalent vanilla kernel at run time.
* Side outputs of each stage: CDCM (ReLU, 1×1 conv to 24 channels, sum of four 3×3 convs dilated 5, 7, 9,
  11), CSAM (ReLU, 1×1 conv to 4, 3×3 conv to 1, sigmoid, multiply), a 1×1 conv to one map, bilinear
  upsampling to the input size; a 1×1 conv fuses the four maps. Outputs go through a sigmoid.
* Input: RGB normalised with the ImageNet mean and standard deviation (the training transform).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PiDiNet", "load_pidinet", "pdc_kernel"]

PDC_PATTERN = ("cd", "ad", "rd", "cv")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# clockwise ring of a 3x3 kernel (flat indices): 0 1 2 / 3 4 5 / 6 7 8
_RING = (0, 1, 2, 5, 8, 7, 6, 3)


def pdc_kernel(weight: Tensor, kind: str) -> tuple[Tensor, int]:
    """The vanilla kernel equivalent to a pixel-difference convolution, and its padding.

    Args:
        weight: :math:`(O, I, 3, 3)` PDC weights.
        kind: ``"cv"``, ``"cd"``, ``"ad"`` or ``"rd"``.

    Returns:
        ``(kernel, padding)``: a :math:`(O, I, 3, 3)` kernel (padding 1) or, for ``rd``, :math:`(O, I, 5, 5)`
        (padding 2).
    """
    o, i = weight.shape[:2]
    if kind == "cv":
        return weight, 1
    if kind == "cd":  # sum_i w_i x_i - x_c sum_i w_i
        k = weight.clone()
        k[:, :, 1, 1] = k[:, :, 1, 1] - weight.sum(dim=(2, 3))
        return k, 1
    if kind == "ad":  # sum over the ring of w_i (x_i - x_next(i)): pixel j gets w_j - w_prev(j)
        flat = weight.reshape(o, i, 9)
        k = torch.zeros_like(flat)
        n = len(_RING)
        for t, j in enumerate(_RING):
            prev = _RING[(t - 1) % n]
            k[:, :, j] = flat[:, :, j] - flat[:, :, prev]
        return k.reshape(o, i, 3, 3), 1
    if kind == "rd":  # sum_dir w_dir (x at 2*dir - x at dir) on a 5x5 support
        # The released checkpoints store the 8 radial weights in flat slots 1..8 of the 3x3 tensor
        # (slot 0 unused, not the centre), one per direction in raster order.
        flat = weight.reshape(o, i, 9)
        k = weight.new_zeros(o, i, 5, 5)
        dirs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
        for slot, (dy, dx) in enumerate(dirs, 1):
            w = flat[:, :, slot]
            k[:, :, 2 + 2 * dy, 2 + 2 * dx] += w
            k[:, :, 2 + dy, 2 + dx] -= w
        return k, 2
    raise ValueError(f"unknown pixel-difference convolution {kind!r}; expected cv, cd, ad or rd")


class PDConv(nn.Module):
    """A bias-free 3×3 pixel-difference convolution (see :func:`pdc_kernel`)."""

    def __init__(self, in_ch: int, out_ch: int, kind: str, groups: int = 1) -> None:
        super().__init__()
        self.kind, self.groups = kind, groups
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch // groups, 3, 3))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        k, pad = pdc_kernel(self.weight, self.kind)
        return F.conv2d(x, k, padding=pad, groups=self.groups)


class PDCBlock(nn.Module):
    """Residual block: ``shortcut(pool(x)) + conv2(ReLU(conv1(pool(x))))`` (pool and shortcut when stride 2)."""

    def __init__(self, in_ch: int, out_ch: int, kind: str, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.conv1 = PDConv(in_ch, in_ch, kind, groups=in_ch)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if stride > 1 else None

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = F.max_pool2d(x, 2, 2)
        y = self.conv2(F.relu(self.conv1(x)))
        return y + (self.shortcut(x) if self.shortcut is not None else x)


class CDCM(nn.Module):
    """Compact dilation convolution module: 1×1 reduction, then four dilated 3×3 convs summed."""

    def __init__(self, in_ch: int, ch: int = 24, dilations: tuple[int, ...] = (5, 7, 9, 11)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 1)
        self.dilations = dilations
        for n, d in enumerate(dilations, 1):
            setattr(self, f"conv2_{n}", nn.Conv2d(ch, ch, 3, padding=d, dilation=d, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(F.relu(x))
        return sum(getattr(self, f"conv2_{n}")(x) for n in range(1, len(self.dilations) + 1))


class CSAM(nn.Module):
    """Compact spatial attention module: features times a sigmoid map computed from them."""

    def __init__(self, ch: int = 24, mid: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, mid, 1)
        self.conv2 = nn.Conv2d(mid, 1, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        a = self.conv2(self.conv1(F.relu(x)))
        return x * torch.sigmoid(a)


class MapReduce(nn.Module):
    """1×1 convolution to one edge map."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class PiDiNet(nn.Module):
    """PiDiNet with CDCM and CSAM side branches (the full Table 5 models).

    Args:
        channels: C, the width of stage 1 (60, 30 or 20 for PiDiNet, -small, -tiny).
        side_channels: width of the CDCM/CSAM side branches (24).
        normalize: apply the ImageNet normalisation inside ``forward`` (inputs are plain RGB in [0, 1]).

    Shape:
        input :math:`(B, 3, H, W)` RGB in [0, 1]; output :math:`(B, 1, H, W)` edge probability.
    """

    def __init__(self, channels: int = 60, side_channels: int = 24, normalize: bool = True) -> None:
        super().__init__()
        c = channels
        self.config = {"channels": channels, "side_channels": side_channels}
        self.normalize = normalize
        kinds = [PDC_PATTERN[i % 4] for i in range(16)]
        self.init_block = PDConv(3, c, kinds[0])
        widths = [c, 2 * c, 4 * c, 4 * c]
        layer = 1
        in_ch = c
        for s, w in enumerate(widths, 1):
            for b in range(1 if s == 1 else 0, 4):
                name = f"block{s}_{b if s == 1 else b + 1}"
                stride = 2 if (s > 1 and b == 0) else 1
                setattr(self, name, PDCBlock(in_ch, w, kinds[layer], stride))
                in_ch = w
                layer += 1
        self.dilations = nn.ModuleList([CDCM(w, side_channels) for w in widths])
        self.attentions = nn.ModuleList([CSAM(side_channels) for _ in widths])
        self.conv_reduces = nn.ModuleList([MapReduce(side_channels) for _ in widths])
        self.classifier = nn.Conv2d(4, 1, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _stage(self, s: int, x: Tensor) -> Tensor:
        names = [f"block{s}_{i}" for i in range(1, 4 if s == 1 else 5)]
        for n in names:
            x = getattr(self, n)(x)
        return x

    def side_outputs(self, images: Tensor) -> list[Tensor]:
        """The four side maps and the fused map, each :math:`(B, 1, H, W)` probabilities."""
        h, w = images.shape[-2:]
        x = (images - self.mean) / self.std if self.normalize else images
        x = self.init_block(x)
        feats = []
        for s in range(1, 5):
            x = self._stage(s, x)
            feats.append(x)
        maps = []
        for i, f in enumerate(feats):
            e = self.conv_reduces[i](self.attentions[i](self.dilations[i](f)))
            maps.append(F.interpolate(e, size=(h, w), mode="bilinear", align_corners=False))
        fused = self.classifier(torch.cat(maps, 1))
        return [torch.sigmoid(m) for m in (*maps, fused)]

    def forward(self, images: Tensor) -> Tensor:
        return self.side_outputs(images)[-1]


def load_pidinet(path: str | Path, device: str | torch.device = "cpu") -> PiDiNet:
    """Build a :class:`PiDiNet` of the right width and load an authors' checkpoint (``.pth``, any variant).

    The ``state_dict`` may sit under ``"state_dict"`` and carry a ``module.`` prefix (DataParallel).
    """
    ck = torch.load(Path(path), map_location="cpu", weights_only=True)
    state = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if "init_block.weight" not in state:
        raise ValueError(f"{path}: not a PiDiNet checkpoint (no init_block.weight)")
    net = PiDiNet(channels=state["init_block.weight"].shape[0],
                  side_channels=state["dilations.0.conv1.weight"].shape[0])
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)
