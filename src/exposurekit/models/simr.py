"""SIMR network: a multi-scale U-Net of SIMR blocks (ASF + RSMG) guided by semantic prior features.

* **ASF** (adaptive semantic-aware fusion): channel ("transposed") cross-attention with semantic
  features as queries and layer-normed image features as keys/values (learned temperature), added to
  the input; then a feed-forward with a spatial (gated depthwise) branch and a frequency (FFT) branch.
* **RSMG** (residual spatial Mamba group): residual groups of Mamba blocks; each block is
  ``x·s1 + SS2D(LN(x))`` then ``x·s2 + CAB(LN(x))`` (learnable per-channel skip scales), and a group
  ends with a 3×3 convolution and a residual. SS2D scans the map in four orders with the chunked
  selective scan of :mod:`exposurekit.models.scan`.

The network works at half resolution (pixel-unshuffle stem) and outputs, at full resolution, a
log-gamma map and an RGB residual: ``out = x^{exp(g)} + r`` (both start at zero: identity at init).
Every size is a constructor argument; :data:`PRESETS` holds the two shipped configurations.
See ``docs/simr.md`` for the choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.models.scan import selective_scan
from exposurekit.models.simr_bands import mamba_block_banded

__all__ = ["ASF", "PRESETS", "RSMG", "SIMRConfig", "SIMRNet", "SS2D", "build_simr"]


@dataclass
class SIMRConfig:
    """Sizes of :class:`SIMRNet` (all unstated in the paper; see ``docs/simr.md``).

    Attributes:
        stem_factor: the first level runs at 1/stem_factor of the input size (pixel-unshuffle stem);
            the output maps return to full size by pixel shuffle (RGB residual) and bilinear
            upsampling (log-gamma).
        channels: feature width per U-Net level; level ``i`` runs at 1/(stem_factor·2^i).
        scan_levels: levels whose SIMR blocks contain RSMG (selective-scan) groups; other levels use
            a residual convolution block (cheap at high resolution).
        groups: residual Mamba groups per RSMG.
        depth: Mamba blocks per group, per level (the last level is the bottleneck).
        d_state: state size N of the selective scan.
        expand: SS2D inner width = expand × channels (rounded to a multiple of ``head_dim``).
        head_dim: channels sharing one scalar decay in the scan.
        directions: scan orders (4 = rows, columns, both reversed).
        chunk: chunk length of the scan.
        dt_rank: rank of the Δ projection (0: ⌈C/16⌉).
        sem_in: channels of the prior features fed in (set from the prior).
        sem_dim: channels after the single convolution on the prior features.
        asf_heads: heads of the ASF channel attention.
        ffn_expansion: hidden width factor of the ASF feed-forward.
        use_asf: ASF on (off: RSMG only; the semantic features are ignored).
        use_fft: frequency branch of the ASF feed-forward.
        cab_squeeze: channel reduction inside the CAB convolutions.
        max_log_gamma: bound of the predicted log-gamma (tanh-scaled).
        residual_upsample: how the RGB residual reaches full size: ``"bilinear"`` (smooth; default) or
            ``"shuffle"`` (pixel shuffle of ``3·stem_factor²`` channels: full-resolution detail, but it
            left a visible ``stem_factor``-pixel grid on real photos after our short training).
        band_positions: inference only, no effect on results: without gradients, Mamba blocks on maps
            of more than twice this many positions run band by band (see
            :mod:`exposurekit.models.simr_bands`) so time per pixel stays flat at large sizes; 0: never.
    """

    stem_factor: int = 4
    channels: tuple[int, ...] = (16, 24, 32)
    scan_levels: tuple[int, ...] = (1, 2)
    groups: int = 1
    depth: tuple[int, ...] = (1, 1, 2)
    d_state: int = 8
    expand: float = 1.0
    head_dim: int = 8
    directions: int = 4
    chunk: int = 32
    dt_rank: int = 0
    sem_in: int = 16
    sem_dim: int = 16
    asf_heads: int = 1
    ffn_expansion: float = 2.0
    use_asf: bool = True
    use_fft: bool = True
    cab_squeeze: int = 3
    max_log_gamma: float = 2.5
    residual_upsample: str = "bilinear"
    band_positions: int = 32768

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SIMRConfig:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in fields})


PRESETS: dict[str, dict[str, Any]] = {
    "simr": {},
    "simr-tiny": {"channels": (8, 16), "scan_levels": (1,), "depth": (1, 1), "d_state": 4, "sem_dim": 8,
                  "head_dim": 8, "chunk": 16, "stem_factor": 2},
}
"""Named configurations (overrides of :class:`SIMRConfig` defaults)."""


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of a :math:`(B, C, H, W)` map."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        return (x - mu) * torch.rsqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


class SS2D(nn.Module):
    """2-D selective scan over ``directions`` orders (VMamba / MambaIR style, scalar decay per head).

    Input projection to ``2·d_inner`` split into x and a gate; depthwise 3×3 + SiLU on x; per order
    a low-rank Δ (one per head) and B, C (d_state each) from a linear projection; scan; sum of the
    orders; layer norm; times SiLU(gate); projection back.

    Args:
        dim: channels C.
        d_state: state size N.
        expand: ``d_inner ≈ expand·C``.
        head_dim: channels per scalar decay.
        directions: scan orders (1–4).
        chunk: scan chunk length.
        dt_rank: Δ rank (0: ⌈C/16⌉).
        dt_range: softplus(Δ bias) is initialised log-uniform in this range.
        a_range: decay rates A = −a initialised log-spaced over heads in this range.

    Shape:
        :math:`(B, C, H, W)` to :math:`(B, C, H, W)`.
    """

    def __init__(self, dim: int, d_state: int = 8, expand: float = 1.0, head_dim: int = 8, directions: int = 4,
                 chunk: int = 32, dt_rank: int = 0, dt_range: tuple[float, float] = (1e-3, 0.1),
                 a_range: tuple[float, float] = (1.0, 16.0)) -> None:
        super().__init__()
        d_inner = max(head_dim, int(round(expand * dim / head_dim)) * head_dim)
        self.d_inner, self.heads, self.head_dim = d_inner, d_inner // head_dim, head_dim
        self.d_state, self.k, self.chunk = d_state, directions, chunk
        self.rank = dt_rank or math.ceil(dim / 16)
        self.in_proj = nn.Conv2d(dim, 2 * d_inner, 1, bias=False)
        self.dw = nn.Conv2d(d_inner, d_inner, 3, padding=1, groups=d_inner)
        self.x_proj = nn.Conv2d(d_inner, directions * (self.rank + 2 * d_state), 1, bias=False)
        self.dt_weight = nn.Parameter(torch.randn(directions, self.heads, self.rank) * self.rank ** -0.5)
        dt = torch.exp(torch.rand(directions, self.heads) * (math.log(dt_range[1]) - math.log(dt_range[0]))
                       + math.log(dt_range[0]))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        a = torch.logspace(math.log10(a_range[0]), math.log10(a_range[1]), self.heads) if self.heads > 1 \
            else torch.tensor([a_range[0]])
        self.a_log = nn.Parameter(a.log().repeat(directions, 1))
        self.d = nn.Parameter(torch.ones(directions, self.heads))
        self.norm = LayerNorm2d(d_inner)
        self.out_proj = nn.Conv2d(d_inner, dim, 1, bias=False)

    def scan(self, k: int, seq: Tensor, proj: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Scan order ``k`` over a sequence already in that order.

        Args:
            k: scan order (selects Δ, A, D of that order).
            seq: :math:`(B, L, d_{inner})`.
            proj: that order's slice of ``x_proj`` :math:`(B, L, R + 2N)` (Δ rank, B, C).
            state: state :math:`(B, H, N, P)` carried from a previous piece, or ``None``.

        Returns:
            :math:`(B, L, d_{inner})` and the state after the last position.
        """
        b, length, _ = seq.shape
        n, r = self.d_state, self.rank
        dt = F.softplus(proj[..., :r] @ self.dt_weight[k].t() + self.dt_bias[k])  # (B, L, H)
        y, state = selective_scan(seq.reshape(b, length, self.heads, self.head_dim), dt, -torch.exp(self.a_log[k]),
                                  proj[..., r:r + n], proj[..., r + n:], self.d[k], chunk=self.chunk,
                                  initial_state=state, return_state=True)
        return y.reshape(b, length, self.d_inner), state

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        xi, z = self.in_proj(x).chunk(2, dim=1)
        xi = F.silu(self.dw(xi))
        proj = self.x_proj(xi).view(b, self.k, self.rank + 2 * self.d_state, h, w)
        # one transposed copy serves both column orders (transposes dominate memory traffic at 1 MP)
        seqs = {0: xi.flatten(2), 1: xi.transpose(2, 3).flatten(2) if self.k > 1 else None}
        projs = {0: proj.flatten(3), 1: proj.transpose(3, 4).flatten(3) if self.k > 1 else None}
        merged: dict[int, Tensor] = {}
        for k in range(self.k):
            seq, pk = seqs[k % 2].transpose(1, 2), projs[k % 2][:, k].transpose(1, 2)  # (B, L, d), (B, L, R+2N)
            if k >= 2:
                seq, pk = seq.flip(1), pk.flip(1)
            y, _ = self.scan(k, seq, pk)
            if k >= 2:
                y = y.flip(1)
            merged[k % 2] = y if k % 2 not in merged else merged[k % 2] + y
        out = merged[0].transpose(1, 2).reshape(b, self.d_inner, h, w)
        if 1 in merged:
            out = out + merged[1].transpose(1, 2).reshape(b, self.d_inner, w, h).transpose(2, 3)
        return self.out_proj(self.norm(out) * F.silu(z))


class CAB(nn.Module):
    """Channel-attention block: 3×3 conv (C→C/s), GELU, 3×3 conv (C/s→C), squeeze-excitation."""

    def __init__(self, dim: int, squeeze: int = 3, reduction: int = 4) -> None:
        super().__init__()
        mid = max(4, dim // squeeze)
        self.body = nn.Sequential(nn.Conv2d(dim, mid, 3, padding=1), nn.GELU(), nn.Conv2d(mid, dim, 3, padding=1))
        red = max(4, dim // reduction)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, red, 1), nn.ReLU(inplace=True),
                                nn.Conv2d(red, dim, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return y * self.se(y)


class MambaBlock(nn.Module):
    """``x·s1 + SS2D(LN(x))`` then ``x·s2 + CAB(LN(x))`` (MambaIR residual state-space block)."""

    def __init__(self, dim: int, cfg: SIMRConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = LayerNorm2d(dim), LayerNorm2d(dim)
        self.ss2d = SS2D(dim, cfg.d_state, cfg.expand, cfg.head_dim, cfg.directions, cfg.chunk, cfg.dt_rank)
        self.cab = CAB(dim, cfg.cab_squeeze)
        self.s1 = nn.Parameter(torch.ones(dim, 1, 1))
        self.s2 = nn.Parameter(torch.ones(dim, 1, 1))
        self.band_positions = cfg.band_positions

    def forward(self, x: Tensor) -> Tensor:
        band = self.band_positions
        if band and not torch.is_grad_enabled() and x.shape[-2] * x.shape[-1] > 2 * band:
            return mamba_block_banded(self, x, band)
        x = x * self.s1 + self.ss2d(self.ln1(x))
        return x * self.s2 + self.cab(self.ln2(x))


class RSMG(nn.Module):
    """Residual spatial Mamba group(s): ``groups`` × (``depth`` Mamba blocks → 3×3 conv, + input)."""

    def __init__(self, dim: int, depth: int, cfg: SIMRConfig) -> None:
        super().__init__()
        self.groups = nn.ModuleList(
            nn.ModuleDict({"blocks": nn.Sequential(*[MambaBlock(dim, cfg) for _ in range(depth)]),
                           "conv": nn.Conv2d(dim, dim, 3, padding=1)})
            for _ in range(cfg.groups))

    def forward(self, x: Tensor) -> Tensor:
        for g in self.groups:
            x = x + g["conv"](g["blocks"](x))
        return x


class ConvBlock(nn.Module):
    """Residual convolution block used at levels without scans: ``x + CAB(LN(x))``."""

    def __init__(self, dim: int, cfg: SIMRConfig) -> None:
        super().__init__()
        self.ln = LayerNorm2d(dim)
        self.cab = CAB(dim, cfg.cab_squeeze)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.cab(self.ln(x))


class SpatialFrequencyFFN(nn.Module):
    """Feed-forward with a gated depthwise spatial branch and a frequency branch.

    Spatial: 1×1 (C→2h), depthwise 3×3, GELU(a)·b, 1×1 (h→C). Frequency: real FFT over space, a
    1×1 convolution on [Re, Im] (2C→2C) with GELU and another 1×1, inverse FFT. Sum of both.
    """

    def __init__(self, dim: int, expansion: float = 2.0, use_fft: bool = True) -> None:
        super().__init__()
        hidden = max(4, int(dim * expansion))
        self.inp = nn.Conv2d(dim, 2 * hidden, 1)
        self.dw = nn.Conv2d(2 * hidden, 2 * hidden, 3, padding=1, groups=2 * hidden)
        self.out = nn.Conv2d(hidden, dim, 1)
        self.use_fft = use_fft
        if use_fft:
            self.freq = nn.Sequential(nn.Conv2d(2 * dim, 2 * dim, 1), nn.GELU(), nn.Conv2d(2 * dim, 2 * dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.dw(self.inp(x)).chunk(2, dim=1)
        y = self.out(F.gelu(a) * b)
        if self.use_fft:
            h, w = x.shape[-2:]
            f = torch.fft.rfft2(x, norm="ortho")
            g = self.freq(torch.cat([f.real, f.imag], dim=1))
            re, im = g.chunk(2, dim=1)
            y = y + torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")
        return y


class ASF(nn.Module):
    """Adaptive semantic-aware fusion: semantic-query channel cross-attention, then the spatial/FFT FFN.

    Args:
        dim: image feature channels.
        sem_dim: semantic feature channels.
        heads: attention heads (channels are split among them).
        ffn_expansion: FFN hidden factor.
        use_fft: FFN frequency branch.

    Shape:
        ``x`` :math:`(B, C, H, W)`, ``sem`` :math:`(B, C_s, H, W)` to :math:`(B, C, H, W)`.
    """

    def __init__(self, dim: int, sem_dim: int, heads: int = 1, ffn_expansion: float = 2.0,
                 use_fft: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.norm_x, self.norm_s, self.norm2 = LayerNorm2d(dim), LayerNorm2d(sem_dim), LayerNorm2d(dim)
        self.q = nn.Sequential(nn.Conv2d(sem_dim, dim, 1, bias=False), nn.Conv2d(dim, dim, 3, padding=1, groups=dim))
        self.kv = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1, bias=False),
                                nn.Conv2d(2 * dim, 2 * dim, 3, padding=1, groups=2 * dim))
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.proj = nn.Conv2d(dim, dim, 1)
        self.ffn = SpatialFrequencyFFN(dim, ffn_expansion, use_fft)

    def forward(self, x: Tensor, sem: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q = self.q(self.norm_s(sem)).reshape(b, self.heads, c // self.heads, h * w)
        k, v = self.kv(self.norm_x(x)).chunk(2, dim=1)
        k = k.reshape(b, self.heads, c // self.heads, h * w)
        v = v.reshape(b, self.heads, c // self.heads, h * w)
        attn = (F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2)) * self.temperature
        out = (attn.softmax(dim=-1) @ v).reshape(b, c, h, w)
        x = x + self.proj(out)
        return x + self.ffn(self.norm2(x))


class SIMRBlock(nn.Module):
    """One SIMR block: ASF (optional) then RSMG (at scan levels) or a residual conv block."""

    def __init__(self, dim: int, depth: int, scan: bool, cfg: SIMRConfig) -> None:
        super().__init__()
        self.asf = ASF(dim, cfg.sem_dim, cfg.asf_heads, cfg.ffn_expansion, cfg.use_fft) if cfg.use_asf else None
        self.body = RSMG(dim, depth, cfg) if scan else ConvBlock(dim, cfg)

    def forward(self, x: Tensor, sem: Tensor) -> Tensor:
        if self.asf is not None:
            x = self.asf(x, sem)
        return self.body(x)


class SIMRNet(nn.Module):
    """Multi-scale U-Net of SIMR blocks.

    Args:
        config: sizes; see :class:`SIMRConfig`.

    Shape:
        ``images`` :math:`(B, 3, H, W)` in [0, 1], any H, W (padded internally to a multiple of
        :math:`2^{levels}`); ``sem`` prior features :math:`(B, C_{in}, h, w)` at any size, or ``None``
        (zeros). Output :math:`(B, 3, H, W)` in [0, 1].
    """

    def __init__(self, config: SIMRConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        cfg = config or SIMRConfig(**kwargs)
        self.cfg = cfg
        ch = cfg.channels
        nl = len(ch)
        if len(cfg.depth) != nl:
            raise ValueError(f"depth needs one entry per level ({nl}), got {cfg.depth}")
        self.sem_proj = nn.Conv2d(cfg.sem_in, cfg.sem_dim, 1)  # the one convolution after the frozen prior
        f = cfg.stem_factor
        self.stem = nn.Sequential(nn.PixelUnshuffle(f), nn.Conv2d(3 * f * f, ch[0], 3, padding=1))
        self.enc = nn.ModuleList(SIMRBlock(ch[i], cfg.depth[i], i in cfg.scan_levels, cfg) for i in range(nl))
        self.down = nn.ModuleList(nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * ch[i], ch[i + 1], 1))
                                  for i in range(nl - 1))
        self.up = nn.ModuleList(nn.Sequential(nn.Conv2d(ch[i + 1], 4 * ch[i], 1), nn.PixelShuffle(2))
                                for i in range(nl - 1))
        self.dec = nn.ModuleList(SIMRBlock(ch[i], cfg.depth[i], i in cfg.scan_levels, cfg) for i in range(nl - 1))
        if cfg.residual_upsample not in ("bilinear", "shuffle"):
            raise ValueError(f"residual_upsample must be 'bilinear' or 'shuffle', got {cfg.residual_upsample!r}")
        res_ch = 3 * f * f if cfg.residual_upsample == "shuffle" else 3
        self.head = nn.Conv2d(ch[0], 1 + res_ch, 3, padding=1)  # log-gamma + RGB residual
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def config(self) -> dict[str, Any]:
        return self.cfg.to_dict()

    @property
    def multiple(self) -> int:
        return self.cfg.stem_factor * 2 ** (len(self.cfg.channels) - 1)

    def forward(self, images: Tensor, sem: Tensor | None = None) -> Tensor:
        out, _ = self.forward_maps(images, sem)
        return out

    def forward_maps(self, images: Tensor, sem: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Corrected images and the raw output maps :math:`(B, 4, H, W)` (log-gamma, RGB residual)."""
        b, _, h, w = images.shape
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        x = F.pad(images, (0, pw, 0, ph), mode="replicate") if ph or pw else images
        feats = self.stem(x)
        if sem is None:
            s0 = feats.new_zeros(b, self.cfg.sem_dim, *feats.shape[-2:])
        else:
            if sem.shape[1] != self.cfg.sem_in:
                raise ValueError(f"prior features have {sem.shape[1]} channels; this network expects "
                                 f"{self.cfg.sem_in} (train or load weights made with the same prior)")
            s0 = self.sem_proj(sem)
        skips = []
        for i, block in enumerate(self.enc):
            s = _resize(s0, feats.shape[-2:])
            feats = block(feats, s)
            if i < len(self.down):
                skips.append(feats)
                feats = self.down[i](feats)
        for i in reversed(range(len(self.dec))):
            feats = self.up[i](feats) + skips[i]
            feats = self.dec[i](feats, _resize(s0, feats.shape[-2:]))
        head = self.head(feats)
        g = F.interpolate(head[:, :1], size=x.shape[-2:], mode="bilinear", align_corners=False)
        if self.cfg.residual_upsample == "shuffle":
            res = F.pixel_shuffle(head[:, 1:], self.cfg.stem_factor)
        else:
            res = F.interpolate(head[:, 1:], size=x.shape[-2:], mode="bilinear", align_corners=False)
        maps = torch.cat([g, res], dim=1)[:, :, :h, :w]
        g = self.cfg.max_log_gamma * torch.tanh(maps[:, :1] / self.cfg.max_log_gamma)
        out = images.clamp(1e-4, 1).pow(torch.exp(g)) + maps[:, 1:]
        return out.clamp(0, 1), maps


def _resize(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def build_simr(preset: str = "simr", **overrides: Any) -> SIMRNet:
    """Build a :class:`SIMRNet` from a named preset (see :data:`PRESETS`) plus overrides.

    Example:
        >>> net = build_simr("simr-tiny", sem_in=5)
        >>> net(torch.rand(1, 3, 37, 29), torch.rand(1, 5, 16, 16)).shape
        torch.Size([1, 3, 37, 29])
    """
    if preset not in PRESETS:
        raise KeyError(f"unknown SIMR preset {preset!r}; known: {sorted(PRESETS)}")
    return SIMRNet(SIMRConfig(**{**PRESETS[preset], **overrides}))
