"""DCE-Net: parameter count, shapes, the curve, tiling and subnormal flushing."""

from __future__ import annotations

import pytest
import torch

from exposurekit.methods.zerodce import ZeroDCE
from exposurekit.models.zerodce import DCENet, apply_curves, flush_subnormal_


def test_parameter_count_is_published() -> None:
    assert sum(p.numel() for p in DCENet().parameters()) == 79_416


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (2, 3, 17, 9), (3, 3, 31, 64)])
def test_output_shapes_at_odd_sizes_and_batches(shape: tuple[int, int, int, int]) -> None:
    net = DCENet()
    out = net(torch.rand(shape))
    assert out.image.shape == shape
    assert out.curves.shape == (shape[0], 24, shape[2], shape[3])
    assert out.curves.abs().max() <= 1
    assert 0 <= out.image.min() and out.image.max() <= 1


def test_curve_by_hand() -> None:
    x = torch.tensor([0.0, 0.25, 0.5, 1.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    # one iteration with r = 1: x + (x^2 - x) = x^2 ; r = -1: 2x - x^2
    assert torch.allclose(apply_curves(x, torch.ones(1, 3, 1, 4)), x ** 2)
    assert torch.allclose(apply_curves(x, -torch.ones(1, 3, 1, 4)), 2 * x - x ** 2)
    # two iterations of r = -1 on 0.25: 0.4375, then 0.68359375
    y = apply_curves(torch.full((1, 3, 1, 1), 0.25), -torch.ones(1, 6, 1, 1))
    assert torch.allclose(y, torch.full_like(y, 0.68359375))
    with pytest.raises(ValueError, match="3n"):
        apply_curves(x, torch.ones(1, 4, 1, 4))


def test_curve_stays_in_range_and_monotonic() -> None:
    x = torch.linspace(0, 1, 101).view(1, 1, 1, 101).expand(1, 3, 1, 101)
    r = torch.rand(1, 24, 1, 1) * 2 - 1
    y = apply_curves(x, r.expand(1, 24, 1, 101))
    assert y.min() >= 0 and y.max() <= 1 + 1e-6
    assert (y[..., 1:] - y[..., :-1] >= -1e-7).all()


def test_gradients_reach_every_parameter() -> None:
    net = DCENet()
    net(torch.rand(2, 3, 16, 16)).image.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_tiled_matches_untiled_in_the_interior() -> None:
    torch.manual_seed(1)
    m = ZeroDCE(tile=48)
    with torch.no_grad():
        for p in m.model.parameters():  # larger weights than the init so the curves do something
            p.normal_(0, 0.15)
    x = torch.rand(2, 3, 100, 77)
    tiled = m.correct(x)
    whole = m.model.enhance(x).clamp(0, 1)
    assert tiled.shape == x.shape
    assert (whole - x).abs().mean() > 0.01  # the network changes the image
    # the tile margin covers the receptive radius, so tiles are exact everywhere, borders included
    assert torch.allclose(tiled, whole, atol=1e-5)
    with pytest.raises(ValueError, match="receptive radius"):
        ZeroDCE(margin=3)


def test_flush_subnormal_zeroes_only_subnormals() -> None:
    net = DCENet()
    with torch.no_grad():
        net.conv1.weight.view(-1)[:3] = torch.tensor([1e-40, -1e-42, 0.5])
    assert flush_subnormal_(net) == 2
    w = net.conv1.weight.view(-1)[:3]
    assert w.tolist() == [0.0, 0.0, 0.5]
