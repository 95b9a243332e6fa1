"""The chunked selective scan against the sequential float64 reference, and the 2-D scan orders."""

from __future__ import annotations

import pytest
import torch

from exposurekit.models.scan import (
    cross_merge,
    cross_scan,
    scan_order,
    scan_unorder,
    selective_scan,
    selective_scan_ref,
)


def _inputs(t=2, length=300, heads=3, p=4, n=5, dt_max=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, length, heads, p, generator=g)
    dt = torch.rand(t, length, heads, generator=g) * dt_max
    a = -(torch.rand(heads, generator=g) * 8 + 0.5)
    b = torch.randn(t, length, n, generator=g)
    c = torch.randn(t, length, n, generator=g)
    d = torch.randn(heads, generator=g)
    return x, dt, a, b, c, d


@pytest.mark.parametrize(("length", "chunk", "segment"), [(300, 32, 8192), (300, 16, 64), (1, 8, 8),
                                                          (33, 32, 32), (1000, 8, 100), (64, 64, 4096)])
def test_scan_matches_float64_reference(length, chunk, segment):
    x, dt, a, b, c, d = _inputs(length=length)
    fast = selective_scan(x, dt, a, b, c, d, chunk=chunk, segment=segment)
    ref = selective_scan_ref(x, dt, a, b, c, d)
    assert fast.shape == x.shape and fast.dtype == torch.float32
    assert (fast.double() - ref).abs().max() < 1e-4


def test_scan_strong_decay_path_matches_reference():
    # total log-decay per chunk beyond the factorised path's safe range -> the difference path is used
    x, dt, a, b, c, d = _inputs(length=200, dt_max=3.0)
    fast = selective_scan(x, dt, a, b, c, d, chunk=32)
    ref = selective_scan_ref(x, dt, a, b, c, d)
    assert (fast.double() - ref).abs().max() < 1e-4 * max(1.0, float(ref.abs().max()))


def test_scan_is_causal_and_order_sensitive():
    x, dt, a, b, c, d = _inputs(length=128)
    y = selective_scan(x, dt, a, b, c, d, chunk=16)
    x2 = x.clone()
    x2[:, 100:] += 1.0  # change the future
    y2 = selective_scan(x2, dt, a, b, c, d, chunk=16)
    assert torch.allclose(y[:, :100], y2[:, :100], atol=1e-6)
    assert not torch.allclose(y[:, 100:], y2[:, 100:], atol=1e-3)


def test_scan_gradients_match_reference():
    x, dt, a, b, c, d = _inputs(t=1, length=70, heads=2, p=2, n=3)
    xs = [t.clone().double().requires_grad_(True) for t in (x, dt, b, c)]
    fast = selective_scan(xs[0], xs[1], a.double(), xs[2], xs[3], d.double(), chunk=16)
    g_fast = torch.autograd.grad(fast.sum(), xs)
    ys = [t.clone().double().requires_grad_(True) for t in (x, dt, b, c)]
    ref = selective_scan_ref(ys[0], ys[1], a, ys[2], ys[3], d)
    g_ref = torch.autograd.grad(ref.sum(), ys)
    for gf, gr in zip(g_fast, g_ref, strict=True):
        assert (gf - gr).abs().max() < 1e-8


def test_scan_rejects_bad_shapes():
    x, dt, a, b, c, d = _inputs(length=10)
    with pytest.raises(ValueError, match="dt must be"):
        selective_scan(x, dt[:, :5], a, b, c, d)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_scan_orders_are_invertible(k):
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    seq = scan_order(x, k)
    assert seq.shape == (2, 3, 35)
    assert torch.equal(scan_unorder(seq, k, 5, 7), x)


def test_scan_orders_visit_as_documented():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    assert scan_order(x, 0).flatten().tolist() == [1, 2, 3, 4]
    assert scan_order(x, 1).flatten().tolist() == [1, 3, 2, 4]
    assert scan_order(x, 2).flatten().tolist() == [4, 3, 2, 1]
    assert scan_order(x, 3).flatten().tolist() == [4, 2, 3, 1]
    assert torch.equal(cross_merge(cross_scan(x), 2, 2), 4 * x)


@pytest.mark.parametrize("total", [25.0, 50.0, 200.0])
def test_scan_gradients_stay_finite_under_strong_decay(total):
    # chunk log-decays of -50 once broke the factorised path's backward (a division's squared e^{-cum})
    x, _, _, b, c, d = _inputs(length=256)
    a = torch.tensor([-1.0, -4.0, -16.0])
    dt = torch.full((2, 256, 3), total / (16 * 32))  # the A = -16 head loses `total` per chunk of 32
    for t in (x, dt, b, c):
        t.requires_grad_(True)
    y = selective_scan(x, dt, a, b, c, d, chunk=32)
    y.square().mean().backward()
    assert all(torch.isfinite(t.grad).all() for t in (x, dt, b, c))
    ref = selective_scan_ref(x.detach(), dt.detach(), a, b.detach(), c.detach(), d)
    assert (y.detach().double() - ref).abs().max() < 1e-4


def test_scan_in_pieces_carries_the_state():
    x, dt, a, b, c, d = _inputs(1, 301, 2, 3, 4, seed=5)
    whole = selective_scan(x, dt, a, b, c, d, chunk=16)
    state, ys = None, []
    for s0, s1 in ((0, 100), (100, 117), (117, 301)):
        y, state = selective_scan(x[:, s0:s1], dt[:, s0:s1], a, b[:, s0:s1], c[:, s0:s1], d, chunk=16,
                                  initial_state=state, return_state=True)
        ys.append(y)
    assert torch.allclose(torch.cat(ys, dim=1), whole, atol=1e-5)
    assert state.shape == (1, 2, 4, 3)
