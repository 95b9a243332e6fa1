"""Selective scan (the recurrence of Mamba) in pure PyTorch, fast on a CPU, plus the 2-D scan orders.

The recurrence, per sequence position :math:`t`, head :math:`h`, state :math:`n` and channel :math:`p`:

.. math::

    s_t[h, n, p] = e^{\\Delta_t[h] A[h]} \\, s_{t-1}[h, n, p] + \\Delta_t[h] \\, B_t[n] \\, x_t[h, p] \\\\
    y_t[h, p] = \\sum_n C_t[n] \\, s_t[h, n, p] + D[h] \\, x_t[h, p]

The decay :math:`e^{\\Delta A}` is one scalar per head and position (the "scalar-decay" form of
Mamba-2 / VMamba v2; Mamba-1 has one decay per channel and state). With a scalar decay a chunk of
``Q`` positions becomes two small matrix products (``C Bᵀ`` masked by the decay matrix, then times
``Δx``), and the chunks are linked by a scan of their end states that is itself done in chunks,
recursively. Cost is ``O(L · Q · (N + P·H))`` per sequence: linear in the length ``L``.

:func:`selective_scan_ref` is the plain sequential float64 loop that defines the result;
:func:`selective_scan` must equal it within 1e-4 (tested).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["cross_merge", "cross_scan", "scan_order", "scan_unorder", "selective_scan", "selective_scan_ref"]


def _check(x: Tensor, dt: Tensor, a: Tensor, b: Tensor, c: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"x must be (batch, length, heads, head_dim), got {tuple(x.shape)}")
    bt, length, heads, _ = x.shape
    if dt.shape != (bt, length, heads):
        raise ValueError(f"dt must be {(bt, length, heads)}, got {tuple(dt.shape)}")
    if a.shape != (heads,):
        raise ValueError(f"A must be ({heads},), got {tuple(a.shape)}")
    if b.ndim != 3 or b.shape[:2] != (bt, length) or c.shape != b.shape:
        raise ValueError(f"B and C must be ({bt}, {length}, d_state), got {tuple(b.shape)} and {tuple(c.shape)}")


def selective_scan_ref(x: Tensor, dt: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor | None = None) -> Tensor:
    """Sequential reference of the selective scan, one step at a time, in float64.

    Args:
        x: inputs :math:`(T, L, H, P)` (T independent sequences, L positions, H heads of P channels).
        dt: step sizes :math:`\\Delta \\ge 0`, :math:`(T, L, H)`.
        a: decay rates :math:`A < 0`, :math:`(H,)`.
        b: input matrices :math:`(T, L, N)`.
        c: output matrices :math:`(T, L, N)`.
        d: skip weights :math:`(H,)` or ``None``.

    Returns:
        :math:`(T, L, H, P)` in float64.
    """
    _check(x, dt, a, b, c)
    x, dt, a, b, c = (t.double() for t in (x, dt, a, b, c))
    bt, length, heads, p = x.shape
    state = x.new_zeros(bt, heads, b.shape[-1], p)
    ys = []
    for t in range(length):
        decay = torch.exp(dt[:, t] * a)  # (T, H)
        inp = b[:, t, None, :, None] * (dt[:, t, :, None, None] * x[:, t, :, None, :])  # (T, H, N, P)
        state = decay[:, :, None, None] * state + inp
        ys.append(torch.einsum("tn,thnp->thp", c[:, t], state))
    y = torch.stack(ys, dim=1)
    if d is not None:
        y = y + d.double()[None, None, :, None] * x
    return y


_SAFE_LOG_RANGE = 30.0
"""Chunks whose total log-decay stays above ``-_SAFE_LOG_RANGE`` use the factorised fast path (fp32-safe)."""

_TRIL: dict[tuple[int, str, torch.dtype], Tensor] = {}


def _tril(q: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    key = (q, str(device), dtype)
    if key not in _TRIL:
        _TRIL[key] = torch.ones(q, q, device=device, dtype=dtype).tril()
    return _TRIL[key]


def _decay_matrix(cum: Tensor) -> Tensor:
    """``exp(cum_t - cum_s)`` for ``t >= s`` and 0 above the diagonal; ``cum`` is ``(..., Q)``."""
    q = cum.shape[-1]
    seg = cum[..., :, None] - cum[..., None, :]
    lower = torch.ones(q, q, dtype=torch.bool, device=cum.device).tril()
    return torch.exp(seg.masked_fill(~lower, float("-inf")))


def _linear_scan(log_decay: Tensor, u: Tensor, chunk: int) -> Tensor:
    """Inclusive scan ``s_m = exp(log_decay_m) * s_{m-1} + u_m`` along dim 2, chunked and recursive.

    Args:
        log_decay: :math:`(T, H, M)`, values ``<= 0``.
        u: :math:`(T, H, M, F)`.
        chunk: block length of the matrix form.

    Returns:
        :math:`(T, H, M, F)`.
    """
    m = log_decay.shape[-1]
    if m <= chunk:
        return _decay_matrix(log_decay.cumsum(-1)) @ u
    pad = (-m) % chunk
    if pad:
        log_decay = torch.nn.functional.pad(log_decay, (0, pad))
        u = torch.nn.functional.pad(u, (0, 0, 0, pad))
    t, h, mp, f = u.shape
    nb = mp // chunk
    ld = log_decay.reshape(t, h, nb, chunk)
    cum = ld.cumsum(-1)  # (T, H, nb, Q)
    local = _decay_matrix(cum) @ u.reshape(t, h, nb, chunk, f)  # within-block scan from zero
    carry = _linear_scan(cum[..., -1], local[..., -1, :], chunk)  # block-end states, inclusive
    prev = torch.nn.functional.pad(carry[:, :, :-1], (0, 0, 1, 0))  # state entering each block
    out = local + torch.exp(cum)[..., None] * prev[:, :, :, None, :]
    return out.reshape(t, h, mp, f)[:, :, :m]


def selective_scan(x: Tensor, dt: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor | None = None,
                   chunk: int = 32, segment: int = 8192, initial_state: Tensor | None = None,
                   return_state: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Chunked selective scan (scalar-decay matrix form); same arguments as :func:`selective_scan_ref`.

    Inside each chunk of ``chunk`` positions the output is ``(C Bᵀ ∘ Λ) (Δx)`` with the decay matrix
    :math:`Λ_{ts} = e^{\\sum_{s<k\\le t} \\Delta_k A}`; chunk end states are linked by
    :func:`_linear_scan`, which chunks again, so no Python loop runs over positions.

    Args:
        x: :math:`(T, L, H, P)`.
        dt: :math:`(T, L, H)`, ``>= 0``.
        a: :math:`(H,)`, ``< 0``.
        b: :math:`(T, L, N)`.
        c: :math:`(T, L, N)`.
        d: :math:`(H,)` or ``None``.
        chunk: chunk length ``Q`` (cost per position grows linearly with it; 32–64 suits CPUs).
        segment: positions per segment; segments run one after another, carrying the state, so the
            working set stays bounded (in cache) however long the sequence.
        initial_state: state :math:`(T, H, N, P)` before the first position (``None``: zeros), to
            continue a scan over a sequence given in pieces.
        return_state: also return the state after the last position.

    Returns:
        :math:`(T, L, H, P)` in the dtype of ``x``; with ``return_state``, also the final state
        :math:`(T, H, N, P)`.

    Example:
        >>> x, dt = torch.randn(1, 70, 2, 3), torch.rand(1, 70, 2) * 0.1
        >>> a, b, c = -torch.ones(2), torch.randn(1, 70, 4), torch.randn(1, 70, 4)
        >>> bool((selective_scan(x, dt, a, b, c, chunk=16) - selective_scan_ref(x, dt, a, b, c)).abs().max() < 1e-4)
        True
    """
    _check(x, dt, a, b, c)
    length = x.shape[1]
    seg = max(chunk, segment - segment % max(chunk, 1))
    state = initial_state
    ys = []
    for s0 in range(0, length, seg):
        s1 = min(length, s0 + seg)
        y, state = _scan_segment(x[:, s0:s1], dt[:, s0:s1], a, b[:, s0:s1], c[:, s0:s1], chunk, state)
        ys.append(y)
    y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=1)
    if d is not None:
        y = y + d[None, None, :, None] * x
    if return_state:
        if state is None:  # empty sequence
            state = x.new_zeros(x.shape[0], x.shape[2], b.shape[-1], x.shape[3])
        return y, state
    return y


def _scan_segment(x: Tensor, dt: Tensor, a: Tensor, b: Tensor, c: Tensor, chunk: int,
                  state: Tensor | None) -> tuple[Tensor, Tensor]:
    """One segment of :func:`selective_scan` (no skip term) from ``state`` :math:`(T, H, N, P)`.

    Returns the outputs :math:`(T, L, H, P)` and the state after the last position.
    """
    bt, length, heads, p = x.shape
    n = b.shape[-1]
    q = max(1, min(chunk, length))
    pad = (-length) % q
    xdt = x * dt[..., None]
    ld = dt * a  # (T, L, H) log-decays
    if pad:  # padding at the end: zero input, no decay; never reaches earlier positions
        xdt = torch.nn.functional.pad(xdt, (0, 0, 0, 0, 0, pad))
        ld = torch.nn.functional.pad(ld, (0, 0, 0, pad))
        b = torch.nn.functional.pad(b, (0, 0, 0, pad))
        c = torch.nn.functional.pad(c, (0, 0, 0, pad))
    nc = (length + pad) // q
    xh = xdt.reshape(bt, nc, q, heads, p).permute(0, 3, 1, 2, 4)  # (T, H, nc, Q, P)
    cum = ld.reshape(bt, nc, q, heads).permute(0, 3, 1, 2).cumsum(-1)  # (T, H, nc, Q)
    bc = b.reshape(bt, nc, q, n)
    cc = c.reshape(bt, nc, q, n)
    if bool(cum[..., -1].min() > -_SAFE_LOG_RANGE):
        # factorised decay: Λ_ts = e^{cum_t} e^{-cum_s}; no (Q x Q) exponentials, one masked product
        ec = torch.exp(cum)[..., None]  # (T, H, nc, Q, 1)
        ce = cc[:, None] * ec  # (T, H, nc, Q, N)
        be = bc[:, None] * torch.exp(-cum)[..., None]  # no division: its gradient would square e^{-cum}
        scores = (ce @ be.transpose(-1, -2)).mul_(_tril(q, x.device, x.dtype))  # (T, H, nc, Q, Q)
        y = scores @ xh  # (T, H, nc, Q, P)
        states = (be.transpose(-1, -2) @ xh) * ec[..., -1:, :]  # (T, H, nc, N, P), scaled to chunk end
    else:  # strong decays: build the decay matrix from differences (stable at any range)
        ce = cc[:, None].expand(bt, heads, nc, q, n)
        scores = cc @ bc.transpose(-1, -2)  # (T, nc, Q, Q)
        y = (_decay_matrix(cum) * scores[:, None]) @ xh
        w = torch.exp(cum[..., -1:] - cum)  # (T, H, nc, Q)
        states = bc.transpose(-1, -2)[:, None] @ (w[..., None] * xh)
        ce = ce * torch.exp(cum)[..., None]
    if state is not None:  # the incoming state, decayed through the first chunk
        states = states.clone()
        states[:, :, 0] += torch.exp(cum[:, :, 0, -1])[..., None, None] * state
    if nc > 1 or state is not None:
        # link chunks: state entering chunk k, then its contribution C_t e^{cum_t} s_{k-1}
        carry = _linear_scan(cum[..., -1], states.reshape(bt, heads, nc, n * p), q).reshape(bt, heads, nc, n, p)
        first = state[:, :, None] if state is not None else torch.zeros_like(carry[:, :, :1])
        prev = torch.cat([first, carry[:, :, :-1]], dim=2)
        y = y + ce @ prev
        final = carry[:, :, -1]
    else:
        final = states[:, :, -1]
    return y.permute(0, 2, 3, 1, 4).reshape(bt, nc * q, heads, p)[:, :length], final


def scan_order(x: Tensor, k: int) -> Tensor:
    """Feature map :math:`(B, C, H, W)` as a sequence :math:`(B, C, H·W)` in 2-D scan order ``k``.

    Order 0: rows (raster), 1: columns (column-major), 2: rows reversed, 3: columns reversed.
    """
    seq = x.flatten(2) if k % 2 == 0 else x.transpose(2, 3).flatten(2)
    return seq.flip(-1) if k >= 2 else seq


def scan_unorder(y: Tensor, k: int, height: int, width: int) -> Tensor:
    """Inverse of :func:`scan_order`: :math:`(B, C, H·W)` back to :math:`(B, C, H, W)`."""
    if k >= 2:
        y = y.flip(-1)
    b, ch, _ = y.shape
    if k % 2 == 0:
        return y.reshape(b, ch, height, width)
    return y.reshape(b, ch, width, height).transpose(2, 3)


def cross_scan(x: Tensor, directions: int = 4) -> Tensor:
    """All 2-D scan orders of a feature map (see :func:`scan_order`).

    Args:
        x: :math:`(B, C, H, W)`.
        directions: number of orders, 1 to 4.

    Returns:
        :math:`(B, K, C, H·W)` with ``K = directions``.
    """
    if not 1 <= directions <= 4:
        raise ValueError(f"directions must be 1 to 4, got {directions}")
    return torch.stack([scan_order(x, k) for k in range(directions)], dim=1)


def cross_merge(y: Tensor, height: int, width: int) -> Tensor:
    """Undo :func:`cross_scan` and sum the orders: :math:`(B, K, C, H·W)` to :math:`(B, C, H, W)`."""
    return sum(scan_unorder(y[:, k], k, height, width) for k in range(y.shape[1]))
