"""Torch Mertens fusion: agreement with OpenCV's createMergeMertens, any length, gradients."""

from __future__ import annotations

import pytest
import torch

from exposurekit.fusion import mertens_fusion, mertens_opencv, mertens_weights
from exposurekit.fusion.mertens import laplacian_pyramid, pyramid_depth


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread avoids OpenMP spin-waiting on a shared machine (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _bracket(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """A smooth-ish random scene at ``n`` exposures, dark → bright, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    scene = torch.nn.functional.interpolate(torch.rand(1, 3, h // 4 + 2, w // 4 + 2, generator=g), size=(h, w),
                                            mode="bilinear", align_corners=False)
    scene = scene + 0.05 * torch.rand(1, 3, h, w, generator=g)
    gains = torch.logspace(-1.5, 1.5, n, base=2.0).view(n, 1, 1, 1)
    return (scene * gains).clamp(0, 1)


@pytest.mark.parametrize("shape", [(3, 40, 50), (2, 33, 17), (5, 64, 64), (4, 1, 7), (2, 9, 2)])
@pytest.mark.parametrize("exposedness", [1.0, 0.0])
def test_matches_opencv(shape, exposedness):
    n, h, w = shape
    stack = torch.rand(n, 3, h, w)
    ours = mertens_fusion(stack, exposedness=exposedness)
    ref = mertens_opencv(stack, exposedness=exposedness)
    assert ours.shape == ref.shape == (1, 3, h, w)
    assert (ours - ref).abs().max() < 1e-4


def test_matches_opencv_on_real_bracket(shared_data):
    from exposurekit.data.brackets import load_mef, read_bracket

    brackets = {b.scene: b for b in load_mef(shared_data / "mef_ma_database")}
    stack = read_bracket(brackets["Venice"])
    ours, ref = mertens_fusion(stack), mertens_opencv(stack)
    diff = (ours - ref).abs()
    # float32 rounding of near-zero weights in saturated areas: a handful of pixels differ visibly
    assert diff.mean() < 1e-4
    assert (diff > 1 / 255).float().mean() < 1e-3
    assert diff.max() < 0.05


def test_single_frame_is_returned_unchanged():
    x = _bracket(1, 30, 41)
    assert torch.allclose(mertens_fusion(x), x, atol=1e-5)


def test_identical_frames_fuse_to_that_frame():
    x = _bracket(1, 32, 32)
    assert torch.allclose(mertens_fusion(x.repeat(4, 1, 1, 1)), x, atol=1e-5)


def test_order_invariant_and_batched():
    a, b = _bracket(3, 32, 40, seed=1), _bracket(3, 32, 40, seed=2)
    fa = mertens_fusion(a)
    assert torch.allclose(fa, mertens_fusion(a.flip(0)), atol=1e-6)
    both = mertens_fusion(torch.stack([a, b]))
    assert both.shape == (2, 3, 32, 40)
    assert torch.allclose(both[0:1], fa, atol=1e-6)
    assert torch.allclose(both[1:2], mertens_fusion(b), atol=1e-6)


def test_fusion_lies_between_darkest_and_brightest():
    x = _bracket(5, 48, 48)
    f = mertens_fusion(x)
    lum = f.mean()
    assert x[0].mean() < lum < x[-1].mean()


def test_laplacian_pyramid_reconstructs():
    from exposurekit.fusion.mertens import _collapse

    x = torch.rand(2, 3, 37, 53)
    pyr = laplacian_pyramid(x, pyramid_depth(37, 53))
    assert len(pyr) == pyramid_depth(37, 53) + 1 == 6
    assert torch.allclose(_collapse(pyr), x, atol=1e-5)


def test_weights_favour_well_exposed_frame():
    x = _bracket(3, 32, 32)
    w = mertens_weights(x)
    assert w.shape == (3, 1, 32, 32)
    assert w[1].mean() > w[0].mean() and w[1].mean() > w[2].mean()


def test_gradients_flow():
    x = _bracket(3, 24, 24).requires_grad_(True)
    mertens_fusion(x, clamp=False).mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_shape_raises():
    with pytest.raises(ValueError, match="expected"):
        mertens_fusion(torch.rand(3, 32, 32))
