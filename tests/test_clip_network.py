"""The enhancement network shared by CLIP-LIT, CLIP-LIT-Latent and RAVE."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from exposurekit.models.enhance_net import EnhanceNet


def test_parameter_count_is_published():
    assert sum(p.numel() for p in EnhanceNet().parameters()) == 278_790


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (2, 3, 1, 7), (3, 3, 17, 9), (1, 3, 6, 40)])
def test_any_size_and_batch(shape):
    net = EnhanceNet().eval()
    with torch.no_grad():
        out = net(torch.rand(shape))
    assert out.shape == shape
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_untrained_network_is_near_identity():
    x = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        assert (EnhanceNet()(x) - x).abs().max() < 0.02


def test_illumination_floor_keeps_dark_pixels_finite():
    net = EnhanceNet(l_floor=0.1)
    torch.nn.init.constant_(net.tail.conv.bias, -50.0)  # ReLU would give L = 0 everywhere
    x = torch.zeros(1, 3, 8, 8)
    x[..., 0, 0] = 0.05
    out = net.enhance(x)
    assert torch.isfinite(out.image).all()
    assert float(out.illumination.detach().min()) == pytest.approx(0.1)
    assert float(out.image.detach()[0, 0, 0, 0]) == pytest.approx(0.5, abs=1e-5)  # 0.05 / 0.1
    (out.image.sum()).backward()  # no NaN gradients either
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_padding_is_reflect_in_train_and_eval():
    net = EnhanceNet()
    x = torch.rand(1, 3, 5, 6)
    conv = net.head[0].conv
    ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), conv.weight, conv.bias)
    assert torch.allclose(net.head[0](x), ref)
    net.train()
    a = net(x)
    net.eval()
    assert torch.allclose(a, net(x))


def test_gradients_reach_every_parameter():
    net = EnhanceNet()
    net(torch.rand(2, 3, 12, 12) * 0.5).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
