"""Band-wise inference of a SIMR Mamba block: same result, bounded working set.

A Mamba block (``x·s1 + SS2D(LN(x))`` then ``x·s2 + CAB(LN(x))``) run on a whole large map makes
dozens of full-map temporaries. Past a few hundred thousand positions each is tens of megabytes:
they no longer fit in cache, and every one is a fresh ``mmap`` whose pages fault on first touch, so
time per position doubled from 128² to 1024² (measured; ``benchmarks/simr_speed.py``).

Here the per-position layers (layer norms, 1×1 projections, 3×3 convolutions with a halo of rows)
run on row bands of about ``band`` positions; the four scans run band after band, carrying the scan
state from one band to the next (rows forward, rows backward, then columns forward and backward on
column bands gathered from the stored maps); the squeeze-excitation of CAB, which needs the mean over
the whole map, runs after the bands. Only a handful of full-size maps are allocated, once each.

Used automatically by :class:`~exposurekit.models.simr.MambaBlock` when gradients are off and the
map has more than ``2·band`` positions. Equal to the plain forward within float32 rounding (tested).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:  # pragma: no cover
    from exposurekit.models.simr import SS2D, MambaBlock

__all__ = ["mamba_block_banded", "spans"]


def spans(total: int, step: int) -> list[tuple[int, int]]:
    """``[(0, step), (step, 2·step), …]`` covering ``range(total)``."""
    step = max(1, step)
    return [(a, min(total, a + step)) for a in range(0, total, step)]


def _conv3x3_rows(conv: nn.Conv2d, src: Tensor, r0: int, r1: int, s0: int, s1: int, height: int) -> Tensor:
    """Rows ``[r0, r1)`` of a padding-1 3×3 ``conv`` applied to a full map, from a slab of it.

    Args:
        conv: the convolution (padding 1, stride 1).
        src: rows ``[s0, s1)`` of the convolution's input, with ``s0 = max(0, r0-1)`` and
            ``s1 = min(height, r1+1)``.
        r0, r1: output rows wanted.
        s0, s1: rows held by ``src``.
        height: rows of the full map (zero padding is added only at its borders).
    """
    top, bottom = (1 if r0 == 0 else 0), (1 if r1 == height else 0)
    assert s0 == max(0, r0 - 1) and s1 == min(height, r1 + 1)
    if top or bottom:
        src = F.pad(src, (0, 0, top, bottom))
    return F.conv2d(src, conv.weight, conv.bias, padding=(0, 1), groups=conv.groups)


def _ss2d_banded(ss: SS2D, ln: nn.Module, x: Tensor, band: int) -> Tensor:
    """``SS2D(ln(x))`` by row bands; :math:`(B, C, H, W)` to :math:`(B, C, H, W)`."""
    b, _, h, w = x.shape
    d, kk = ss.d_inner, ss.k
    rows = spans(h, max(1, band // w))
    w_x, w_z = ss.in_proj.weight[:d], ss.in_proj.weight[d:]
    xi = x.new_empty(b, d, h, w)
    z = x.new_empty(b, d, h, w)
    proj = x.new_empty(b, kk, ss.rank + 2 * ss.d_state, h, w)
    for r0, r1 in rows:  # per-position layers and the depthwise conv (one row of halo)
        s0, s1 = max(0, r0 - 1), min(h, r1 + 1)
        u = ln(x[:, :, s0:s1])
        xi_b = F.silu(_conv3x3_rows(ss.dw, F.conv2d(u, w_x), r0, r1, s0, s1, h))
        xi[:, :, r0:r1] = xi_b
        z[:, :, r0:r1] = F.conv2d(u[:, :, r0 - s0:r1 - s0], w_z)
        proj[:, :, :, r0:r1] = ss.x_proj(xi_b).view(b, kk, -1, r1 - r0, w)
    acc = x.new_zeros(b, d, h, w)
    for k in (0, 2)[: (kk + 1) // 2]:  # row orders: raster forward (0) and backward (2)
        state = None
        for r0, r1 in (rows if k == 0 else rows[::-1]):
            seq = xi[:, :, r0:r1].flatten(2).transpose(1, 2)
            pk = proj[:, k, :, r0:r1].flatten(2).transpose(1, 2)
            if k == 2:
                seq, pk = seq.flip(1), pk.flip(1)
            y, state = ss.scan(k, seq, pk, state)
            if k == 2:
                y = y.flip(1)
            acc[:, :, r0:r1] += y.transpose(1, 2).reshape(b, d, r1 - r0, w)
    cols = spans(w, max(1, band // h))
    for k in (1, 3)[: kk // 2]:  # column orders: column-major forward (1) and backward (3)
        state = None
        for c0, c1 in (cols if k == 1 else cols[::-1]):
            seq = xi[:, :, :, c0:c1].transpose(2, 3).flatten(2).transpose(1, 2)  # (B, cb·H, d)
            pk = proj[:, k, :, :, c0:c1].transpose(2, 3).flatten(2).transpose(1, 2)
            if k == 3:
                seq, pk = seq.flip(1), pk.flip(1)
            y, state = ss.scan(k, seq, pk, state)
            if k == 3:
                y = y.flip(1)
            acc[:, :, :, c0:c1] += y.reshape(b, c1 - c0, h, d).permute(0, 3, 2, 1)
    del xi, proj
    out = x.new_empty(b, x.shape[1], h, w)
    for r0, r1 in rows:
        out[:, :, r0:r1] = ss.out_proj(ss.norm(acc[:, :, r0:r1]) * F.silu(z[:, :, r0:r1]))
    return out


def mamba_block_banded(block: MambaBlock, x: Tensor, band: int = 32768) -> Tensor:
    """:class:`~exposurekit.models.simr.MambaBlock` forward by bands of about ``band`` positions.

    Args:
        block: the block (its weights are used as they are).
        x: :math:`(B, C, H, W)`.
        band: positions per band (rows per band = ``band // W``, columns per column band = ``band // H``).

    Returns:
        :math:`(B, C, H, W)`, equal to ``block(x)`` within float32 rounding.
    """
    b, c, h, w = x.shape
    x1 = _ss2d_banded(block.ss2d, block.ln1, x, band)
    rows = spans(h, max(1, band // w))
    for r0, r1 in rows:
        x1[:, :, r0:r1] += x[:, :, r0:r1] * block.s1
    conv1, act, conv2 = block.cab.body
    body = x.new_empty(b, c, h, w)
    total = x.new_zeros(b, c)
    for r0, r1 in rows:  # CAB body: two 3×3 convolutions, two rows of halo
        h0, h1 = max(0, r0 - 1), min(h, r1 + 1)
        s0, s1 = max(0, h0 - 1), min(h, h1 + 1)
        mid = act(_conv3x3_rows(conv1, block.ln2(x1[:, :, s0:s1]), h0, h1, s0, s1, h))
        body_b = _conv3x3_rows(conv2, mid, r0, r1, h0, h1, h)
        body[:, :, r0:r1] = body_b
        total += body_b.sum(dim=(2, 3))
    se = block.cab.se[1:](total[:, :, None, None] / (h * w))  # the squeeze (mean) done above
    for r0, r1 in rows:
        x1[:, :, r0:r1] = x1[:, :, r0:r1] * block.s2 + body[:, :, r0:r1] * se
    return x1
