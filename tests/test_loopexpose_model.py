"""LoopExpose network: documented parameter counts, any size and batch, tiling, LUT, save/load."""

from __future__ import annotations

import pytest
import torch

from exposurekit.models.loopexpose import LoopExposeNet, apply_lut, identity_lut

DOCUMENTED = {"unet": 8_928, "resampler": 192_766, "lut": 106_684, "fusion": 2_490, "head": 219, "total": 311_087}


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread avoids OpenMP spin-waiting on a shared machine (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def net() -> LoopExposeNet:
    torch.manual_seed(0)
    n = LoopExposeNet(low_res=64).eval()  # same layers, a 64² low-resolution branch: fast enough for the suite
    with torch.no_grad():  # move away from the identity initialisation so that every part matters
        for p in n.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return n


def test_parameter_counts_against_documented_table():
    counts = LoopExposeNet().parameter_counts()
    for part in ("resampler", "lut", "fusion", "head"):
        assert counts[part] == DOCUMENTED[part], part
    # the U-Net's attention-gated input block is not specified exactly; ours is 46 parameters smaller
    assert counts["unet"] == 8_882
    assert abs(counts["total"] - DOCUMENTED["total"]) / DOCUMENTED["total"] < 2e-4


@pytest.mark.parametrize("shape", [(1, 3, 17, 23), (3, 3, 64, 40), (2, 3, 300, 7)])
def test_any_size_and_batch(net, shape):
    with torch.no_grad():
        out = net(torch.rand(*shape))
    assert out.image.shape == shape
    assert out.luminance.shape == (shape[0],)
    assert torch.isfinite(out.image).all()


def test_batch_items_are_independent(net):
    x = torch.rand(3, 3, 40, 56)
    with torch.no_grad():
        full = net(x).image
        single = net(x[1:2]).image
    assert torch.allclose(full[1:2], single, atol=1e-5)


def test_tiled_equals_untiled(net):
    x = torch.rand(2, 3, 150, 90)
    net.cfg.tile_rows = None
    with torch.no_grad():
        whole = net(x).image
        net.cfg.tile_rows = 32
        tiled = net(x).image
    net.cfg.tile_rows = 256
    assert torch.allclose(whole, tiled, atol=1e-5)


def test_untrained_model_is_identity():
    net = LoopExposeNet(low_res=64).eval()
    x = torch.rand(2, 3, 33, 47)
    with torch.no_grad():
        out = net(x).image
    assert (out - x).abs().max() < 0.02


def test_eval_mode_is_deterministic_and_train_mode_uses_dropout(net):
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a, b = net(x).image, net(x).image
        assert torch.equal(a, b)
        net.train()
        torch.manual_seed(1)
        c = net(x).image
        net.eval()
    assert not torch.allclose(a, c)


def test_identity_lut_and_trilinear_lookup():
    x = torch.rand(2, 3, 9, 11)
    lut = identity_lut(17).expand(2, -1, -1, -1, -1)
    assert torch.allclose(apply_lut(x, lut), x, atol=1e-5)
    inverted = 1 - identity_lut(5)
    assert torch.allclose(apply_lut(x[:1], inverted[None]), 1 - x[:1], atol=1e-5)


def test_resampler_starts_uniform():
    net = LoopExposeNet().eval()
    py, px = net.resampler.positions(torch.rand(1, 3, 256, 256))
    assert torch.allclose(py, torch.linspace(0, 1, 256).view(1, -1), atol=1e-5)
    assert torch.allclose(px, torch.linspace(0, 1, 256).view(1, -1), atol=1e-5)


def test_gradients_reach_every_part():
    net = LoopExposeNet(low_res=64)
    with torch.no_grad():
        net.head.weight.normal_(0, 0.01)
        net.lut.weights.weight.normal_(0, 0.01)
        net.resampler.intervals.weight.normal_(0, 0.01)
    out = net(torch.rand(2, 3, 48, 64))
    (out.image.mean() + out.luminance.mean()).backward()
    for part in ("unet", "resampler", "lut", "fusion", "head"):
        grads = [p.grad for p in getattr(net, part).parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), part
        assert sum(float(g.abs().sum()) for g in grads) > 0, part


def test_method_save_load_round_trip(tmp_path, net):
    from exposurekit.methods.loopexpose import LoopExpose
    from exposurekit.methods.registry import load_method

    m = LoopExpose(low_res=64)
    m.name = "loopexpose"
    m.model.load_state_dict(net.state_dict())
    path = m.save_weights(tmp_path / "le.safetensors")
    m2 = load_method("loopexpose", weights=path)
    x = torch.rand(1, 3, 40, 52)
    assert torch.allclose(m.correct(x), m2.correct(x), atol=1e-6)
    assert m2.correct(x).min() >= 0 and m2.correct(x).max() <= 1
