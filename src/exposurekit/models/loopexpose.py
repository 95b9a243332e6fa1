"""The LoopExpose single-exposure corrector (arXiv 2511.06066), written from ``methods.md`` section 2.

Five parts (parameter counts in brackets; the documented total is 311,087):

* :class:`LuminanceUNet` [8,882; documented 8,928]: on a 256×256 copy; 8-channel features for the
  attention queries and one **luminance scalar** per image (used only by the ranking loss).
* :class:`LearnedResampler` [192,766]: a 5-conv stride-2 CNN predicting 2×255 softmax intervals whose
  cumulative sums are 256 non-uniform sample positions per axis; the image is resampled to 256×256 on
  that separable grid (initialised uniform).
* :class:`AdaptiveLUT` [106,684]: the same CNN on the resampled image gives 3 weights mixing three 17³
  basis LUTs (basis 0 identity, others zero), applied to the **full-resolution** input by trilinear lookup.
* :class:`CrossAttentionFusion` [2,490]: Restormer-style channel attention (dim 8, 2 heads): queries from
  the U-Net features, keys from the full-resolution LUT output pooled to 256², values at full resolution;
  then a gated depthwise feed-forward (8→64→32→8).
* head [219]: 3×3 conv 8→3.

Design choices where the notes leave things open (all documented in ``docs/loopexpose.md``): the U-Net's
attention-gated input block (a 3×3 8→16→8 residual body gated by a spatial and a channel attention map)
is 46 parameters smaller than the documented 8,928; the fusion block embeds the 3-channel LUT output with
a 1×1 and a 3×3 convolution and uses bias-free layer norms; the head is *used* (the original counted a
dead one) and, by default, adds its output to the LUT output (``residual=True``, zero-initialised head, so
the untrained model is the identity). The full-resolution path (LUT, fusion block, head) runs in row
strips with a halo (``tile_rows``), so memory at 4000×3000 stays bounded and the result equals the
untiled one: every layer after the global channel-attention matrix is local (receptive radius 4 px),
and the 256² pooling of the keys is a linear map accumulated strip by strip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AdaptiveLUT",
    "CrossAttentionFusion",
    "LearnedResampler",
    "LoopExposeConfig",
    "LoopExposeNet",
    "LoopExposeOutput",
    "LuminanceUNet",
    "apply_lut",
    "identity_lut",
]

_HALO = 6  # > receptive radius of the full-resolution layers (4 px)


@dataclass
class LoopExposeConfig:
    """Constructor settings of :class:`LoopExposeNet` (saved with the weights).

    Attributes:
        lut_size: vertices per axis of the basis LUTs.
        n_luts: number of basis LUTs.
        low_res: side of the square copies seen by the U-Net, the resampler and the LUT CNN.
        dim: feature channels of the U-Net output and the fusion block.
        heads: attention heads.
        ffn_hidden: hidden channels of the gated feed-forward (after gating).
        residual: output = LUT output + head(features) (else head(features) alone, as the original).
        resample_source: the resampler samples an antialiased copy with this long side (``None``: the
            full-resolution image, as the original; aliased for large images).
        tile_rows: rows per strip of the full-resolution path (``None``: no tiling).
    """

    lut_size: int = 17
    n_luts: int = 3
    low_res: int = 256
    dim: int = 8
    heads: int = 2
    ffn_hidden: int = 32
    residual: bool = True
    resample_source: int | None = 512
    tile_rows: int | None = 256


@dataclass
class LoopExposeOutput:
    """What :meth:`LoopExposeNet.forward` returns.

    Attributes:
        image: :math:`(B, 3, H, W)` corrected image (not clamped).
        luminance: :math:`(B,)` the predicted luminance scalar of each image.
        lut_image: :math:`(B, 3, H, W)` the LUT output alone, or ``None`` when not requested.
    """

    image: Tensor
    luminance: Tensor
    lut_image: Tensor | None = None


# ---------------------------------------------------------------------------- U-Net
class _AttentionGatedBlock(nn.Module):
    """Residual 3×3 body (8→16→8) gated by a spatial map (3×3 conv → 1) and a channel map (8→16→8)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, 2 * c, 3, padding=1), nn.LeakyReLU(0.1),
                                  nn.Conv2d(2 * c, c, 3, padding=1))
        self.spatial = nn.Conv2d(c, 1, 3, padding=1)
        self.channel = nn.Sequential(nn.Conv2d(c, 2 * c, 1), nn.LeakyReLU(0.1), nn.Conv2d(2 * c, c, 1))

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.spatial(x)) * torch.sigmoid(self.channel(x.mean((2, 3), keepdim=True)))
        return x + self.body(x) * gate


class _EncoderStage(nn.Module):
    """1×1 c→2c, depthwise 3×3 stride 2, 1×1 (LeakyReLU 0.1 between)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c, 2 * c, 1), nn.LeakyReLU(0.1),
                                 nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1, groups=2 * c), nn.LeakyReLU(0.1),
                                 nn.Conv2d(2 * c, 2 * c, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class LuminanceUNet(nn.Module):
    """Small U-Net on a low-resolution copy: 8-channel features and a luminance scalar.

    Shape:
        - Input: :math:`(B, 3, S, S)` (S = 256 by default; any even-divisible-by-4 size works).
        - Output: features :math:`(B, 8, S, S)`, luminance :math:`(B,)`.
    """

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 1), nn.LeakyReLU(0.1))
        self.block = _AttentionGatedBlock(dim)
        self.enc1 = _EncoderStage(dim)
        self.enc2 = _EncoderStage(2 * dim)
        self.up2 = nn.ConvTranspose2d(4 * dim, 2 * dim, 2, stride=2)
        self.up1 = nn.ConvTranspose2d(2 * dim, dim, 2, stride=2)
        self.lum = nn.Sequential(nn.Conv2d(4 * dim, 4 * dim, 1), nn.LeakyReLU(0.1), nn.Conv2d(4 * dim, 1, 1))
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s0 = self.block(self.stem(x))
        s1 = self.act(self.enc1(s0))
        s2 = self.act(self.enc2(s1))
        lum = self.lum(s2.mean((2, 3), keepdim=True)).flatten()
        d1 = self.act(self.up2(s2)) + s1
        d0 = self.up1(d1) + s0
        return d0, lum


# ---------------------------------------------------------------------------- AdaInt-style CNN
class _Backbone(nn.Module):
    """5 stride-2 3×3 convs 3→8→16→32→64→64 (LeakyReLU 0.2, InstanceNorm on the first four),
    Dropout 0.5, 2×2 average pooling → 256-d."""

    def __init__(self) -> None:
        super().__init__()
        chans = [3, 8, 16, 32, 64, 64]
        layers: list[nn.Module] = []
        for i in range(5):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            if i < 4:
                layers.append(nn.InstanceNorm2d(chans[i + 1], affine=True))
        layers += [nn.Dropout(0.5), nn.AdaptiveAvgPool2d(2), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class LearnedResampler(nn.Module):
    """Predict 256 non-uniform sample positions per axis and resample the image on that grid.

    Shape:
        - Input: the image :math:`(B, 3, H, W)` and its low-res square copy :math:`(B, 3, S, S)`.
        - Output: :math:`(B, 3, S, S)` resampled image.
    """

    def __init__(self, size: int = 256) -> None:
        super().__init__()
        self.size = size
        self.backbone = _Backbone()
        self.intervals = nn.Linear(256, 2 * (size - 1))
        nn.init.zeros_(self.intervals.weight)
        nn.init.zeros_(self.intervals.bias)

    def positions(self, small: Tensor) -> tuple[Tensor, Tensor]:
        """Sample positions in [0, 1], ``(B, S)`` along y and along x (start 0, end 1, increasing)."""
        logits = self.intervals(self.backbone(small)).view(-1, 2, self.size - 1)
        steps = torch.softmax(logits, dim=-1)
        pos = torch.cat([steps.new_zeros(steps.shape[0], 2, 1), steps.cumsum(-1)], dim=-1).clamp(0, 1)
        return pos[:, 0], pos[:, 1]

    def forward(self, image: Tensor, small: Tensor) -> Tensor:
        py, px = self.positions(small)
        b, s = py.shape
        gy = (2 * py - 1).view(b, s, 1).expand(b, s, s)
        gx = (2 * px - 1).view(b, 1, s).expand(b, s, s)
        grid = torch.stack([gx, gy], dim=-1)
        return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def identity_lut(size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Identity 3-D LUT, :math:`(3, D, D, D)` laid out ``[channel, b, g, r]``."""
    v = torch.linspace(0, 1, size, dtype=dtype)
    b, g, r = torch.meshgrid(v, v, v, indexing="ij")
    return torch.stack([r, g, b])


def apply_lut(image: Tensor, lut: Tensor) -> Tensor:
    """Trilinear lookup of each image in its own LUT (``align_corners=True``, border padding).

    Args:
        image: :math:`(B, 3, H, W)` in [0, 1] (values outside are clamped to the LUT's border).
        lut: :math:`(B, 3, D, D, D)` laid out ``[channel, b, g, r]``.

    Returns:
        :math:`(B, 3, H, W)`.
    """
    b, _, h, w = image.shape
    grid = (image * 2 - 1).permute(0, 2, 3, 1).reshape(b, 1, h, w, 3)
    out = F.grid_sample(lut, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.view(b, 3, h, w)


class AdaptiveLUT(nn.Module):
    """Image-adaptive 3-D LUT: weights from a CNN mix ``n_luts`` learned basis LUTs.

    Shape:
        - Input: the resampled image :math:`(B, 3, S, S)`.
        - Output: LUTs :math:`(B, 3, D, D, D)`.
    """

    def __init__(self, size: int = 17, n_luts: int = 3) -> None:
        super().__init__()
        self.backbone = _Backbone()
        self.weights = nn.Linear(256, n_luts)
        basis = torch.zeros(n_luts, 3, size, size, size)
        basis[0] = identity_lut(size)
        self.basis = nn.Parameter(basis)
        nn.init.normal_(self.weights.weight, std=1e-3)
        with torch.no_grad():
            self.weights.bias.zero_()
            self.weights.bias[0] = 1.0

    def forward(self, resampled: Tensor) -> Tensor:
        w = self.weights(self.backbone(resampled))
        return torch.einsum("bn,ncdhw->bcdhw", w, self.basis)


# ---------------------------------------------------------------------------- fusion
class _BiasFreeLayerNorm(nn.Module):
    """Layer norm over channels at every pixel, scale only (Restormer's BiasFree variant)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))

    def forward(self, x: Tensor) -> Tensor:
        d = x - x.mean(dim=1, keepdim=True)  # explicit: Tensor.var over dim 1 is ~8x slower on CPU
        var = (d * d).mean(dim=1, keepdim=True)
        return x * torch.rsqrt(var + 1e-5) * self.weight.view(1, -1, 1, 1)


def _pool_matrix(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(n_out, n_in)`` averaging matrix equal to 1-D adaptive average pooling."""
    m = torch.zeros(n_out, n_in, device=device, dtype=dtype)
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -((-(i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return m


class CrossAttentionFusion(nn.Module):
    """Channel cross-attention between the U-Net features (queries) and the LUT output (keys, values).

    The attention matrix is :math:`(heads, d, d)` with :math:`d = dim/heads`, computed from the queries
    at S×S and the keys pooled to S×S, then applied to values at any resolution.
    """

    def __init__(self, dim: int = 8, heads: int = 2, ffn_hidden: int = 32) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.dim, self.heads = dim, heads
        self.embed = nn.Sequential(nn.Conv2d(3, dim, 1, bias=False), nn.Conv2d(dim, dim, 3, padding=1, bias=False))
        self.norm_kv = _BiasFreeLayerNorm(dim)
        self.q = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.Conv2d(dim, dim, 3, padding=1, groups=dim))
        self.kv = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1), nn.Conv2d(2 * dim, 2 * dim, 3, padding=1, groups=2 * dim))
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.project_out = nn.Conv2d(dim, dim, 1)
        self.norm_ffn = _BiasFreeLayerNorm(dim)
        self.ffn_in = nn.Conv2d(dim, 2 * ffn_hidden, 1, bias=False)
        self.ffn_dw = nn.Conv2d(2 * ffn_hidden, 2 * ffn_hidden, 3, padding=1, groups=2 * ffn_hidden, bias=False)
        self.ffn_out = nn.Conv2d(ffn_hidden, dim, 1, bias=False)

    def _kv(self, lut_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # channels-last makes the full-resolution depthwise and 1×1 convolutions 2-5× faster on CPU
        e = self.embed(lut_out.contiguous(memory_format=torch.channels_last))
        k, v = self.kv(self.norm_kv(e)).chunk(2, dim=1)
        return e, k, v

    def attention(self, feats: Tensor, k_pooled: Tensor) -> Tensor:
        """Per-head ``(B, heads, d, d)`` attention from queries and pooled keys (both at S×S)."""
        b = feats.shape[0]
        q = self.q(feats).reshape(b, self.heads, self.dim // self.heads, -1)
        k = k_pooled.reshape(b, self.heads, self.dim // self.heads, -1)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        return torch.softmax(q @ k.transpose(-2, -1) * self.temperature, dim=-1)

    def apply_attention(self, e: Tensor, v: Tensor, attn: Tensor) -> Tensor:
        """Features after attention and feed-forward at any resolution, :math:`(B, dim, h, w)`."""
        b, _, h, w = v.shape
        out = (attn @ v.reshape(b, self.heads, self.dim // self.heads, -1)).reshape(b, self.dim, h, w)
        x = (e + self.project_out(out)).contiguous(memory_format=torch.channels_last)
        y1, y2 = self.ffn_dw(self.ffn_in(self.norm_ffn(x))).chunk(2, dim=1)
        return x + self.ffn_out(F.gelu(y1) * y2)


# ---------------------------------------------------------------------------- full model
class LoopExposeNet(nn.Module):
    """The LoopExpose corrector; any batch size and resolution.

    Args:
        config: a :class:`LoopExposeConfig` (defaults as documented), or ``None``.
        **kwargs: override fields of the config.

    Shape:
        - Input: :math:`(B, 3, H, W)` RGB in [0, 1].
        - Output: :class:`LoopExposeOutput` with image :math:`(B, 3, H, W)` and luminance :math:`(B,)`.

    Example:
        >>> net = LoopExposeNet().eval()
        >>> out = net(torch.rand(2, 3, 40, 60))
        >>> out.image.shape, out.luminance.shape
        (torch.Size([2, 3, 40, 60]), torch.Size([2]))
    """

    def __init__(self, config: LoopExposeConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = LoopExposeConfig(**{**(asdict(config) if config else {}), **kwargs})
        self.cfg = cfg
        self.config = asdict(cfg)
        self.unet = LuminanceUNet(cfg.dim)
        self.resampler = LearnedResampler(cfg.low_res)
        self.lut = AdaptiveLUT(cfg.lut_size, cfg.n_luts)
        self.fusion = CrossAttentionFusion(cfg.dim, cfg.heads, cfg.ffn_hidden)
        self.head = nn.Conv2d(cfg.dim, 3, 3, padding=1)
        if cfg.residual:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters of each part and the total."""
        parts = {"unet": self.unet, "resampler": self.resampler, "lut": self.lut, "fusion": self.fusion,
                 "head": self.head}
        counts = {k: sum(p.numel() for p in m.parameters()) for k, m in parts.items()}
        counts["total"] = sum(counts.values())
        return counts

    def _low_res(self, x: Tensor) -> Tensor:
        s = self.cfg.low_res
        shrink = x.shape[-2] > s or x.shape[-1] > s
        return F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=shrink)

    def forward(self, x: Tensor, return_lut: bool = False) -> LoopExposeOutput:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W), got {tuple(x.shape)}")
        b, _, h, w = x.shape
        small = self._low_res(x)
        feats, lum = self.unet(small)
        src = x
        rs = self.cfg.resample_source
        if rs is not None and max(h, w) > rs:
            sc = rs / max(h, w)
            src = F.interpolate(x, size=(max(1, round(h * sc)), max(1, round(w * sc))), mode="bilinear",
                                align_corners=False, antialias=True)
        luts = self.lut(self.resampler(src, small))
        s = self.cfg.low_res
        pool_w = _pool_matrix(w, s, x.device, x.dtype)
        rows = self.cfg.tile_rows if self.cfg.tile_rows and h > self.cfg.tile_rows else h

        # pass 1: keys at full resolution, pooled to S×S strip by strip
        k_pooled = x.new_zeros(b, self.cfg.dim, s, s)
        pool_h = _pool_matrix(h, s, x.device, x.dtype)
        for y0, y1, a0, a1 in _strips(h, rows, _HALO):
            _, k, _ = self.fusion._kv(apply_lut(x[:, :, a0:a1], luts))
            k = k[:, :, y0 - a0:y1 - a0]
            k_pooled = k_pooled + torch.einsum("sh,bchw,tw->bcst", pool_h[:, y0:y1], k, pool_w)
        attn = self.fusion.attention(feats, k_pooled)

        # pass 2: values, attention, feed-forward and head, strip by strip
        outs, lut_outs = [], []
        for y0, y1, a0, a1 in _strips(h, rows, _HALO):
            lut_img = apply_lut(x[:, :, a0:a1], luts)
            e, _, v = self.fusion._kv(lut_img)
            y = self.head(self.fusion.apply_attention(e, v, attn))
            if self.cfg.residual:
                y = y + lut_img
            outs.append(y[:, :, y0 - a0:y1 - a0])
            if return_lut:
                lut_outs.append(lut_img[:, :, y0 - a0:y1 - a0])
        image = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)
        lut_image = (lut_outs[0] if len(lut_outs) == 1 else torch.cat(lut_outs, dim=2)) if return_lut else None
        return LoopExposeOutput(image=image, luminance=lum, lut_image=lut_image)


def _strips(h: int, rows: int, halo: int):
    """``(y0, y1, a0, a1)``: output rows ``[y0, y1)`` computed from input rows ``[a0, a1)``."""
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        yield y0, y1, max(0, y0 - halo), min(h, y1 + halo)
