"""The four Zero-DCE losses on hand-made cases."""

from __future__ import annotations

import pytest
import torch

from exposurekit.losses.zerodce import (
    ZeroDCELoss,
    ZeroDCELossWeights,
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    spatial_consistency_loss,
)


def test_exposure_zero_when_patches_equal_level() -> None:
    x = torch.full((2, 3, 32, 48), 0.6)
    assert torch.allclose(exposure_control_loss(x), torch.zeros(2))
    # a checkerboard of 0.4/0.8 in 2×2 cells still averages to 0.6 in every 16×16 patch
    cb = torch.tensor([[0.4, 0.8], [0.8, 0.4]]).repeat(16, 24)
    assert torch.allclose(exposure_control_loss(cb.expand(1, 3, 32, 48)), torch.zeros(1), atol=1e-7)


def test_exposure_by_hand() -> None:
    x = torch.full((1, 3, 32, 32), 0.2)
    x[..., :16, :] = 0.8  # two patches at 0.8 (err 0.2), two at 0.2 (err 0.4)
    assert torch.allclose(exposure_control_loss(x), torch.tensor([(0.04 + 0.16) / 2]))
    assert torch.allclose(exposure_control_loss(x, level=0.5), torch.tensor([0.09]))


def test_color_constancy_zero_for_grey_and_by_hand() -> None:
    grey = torch.rand(3, 1, 8, 8).expand(3, 3, 8, 8)
    assert torch.allclose(color_constancy_loss(grey), torch.zeros(3))
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0] = 0.5  # means (0.5, 0, 0): (0.5)^2 + (0.5)^2 + 0
    assert torch.allclose(color_constancy_loss(x), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="3 channels"):
        color_constancy_loss(torch.rand(1, 4, 4, 4))


def test_spatial_consistency() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(spatial_consistency_loss(x, x), torch.zeros(2))
    # a global offset keeps every neighbour difference
    assert torch.allclose(spatial_consistency_loss((x + 0.2), x), torch.zeros(2), atol=1e-6)
    # flattening an edge is penalised: two 4×4 regions (after pooling 8×4 → 2×1)
    orig = torch.zeros(1, 3, 8, 4)
    orig[..., 4:, :] = 1.0
    flat = torch.full_like(orig, 0.5)
    # one vertical pair with |I_i - I_j| = 1, counted both ways, K = 2 regions: 2 * 1 / 2 = 1
    assert torch.allclose(spatial_consistency_loss(flat, orig), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="shapes differ"):
        spatial_consistency_loss(x, x[..., :16])


def test_spatial_consistency_signed_penalises_inverted_contrast() -> None:
    orig = torch.zeros(1, 3, 8, 4)
    orig[..., 4:, :] = 1.0
    inverted = 1.0 - orig  # same |difference|, opposite sign
    assert torch.allclose(spatial_consistency_loss(inverted, orig, signed=False), torch.zeros(1))
    # signed: ((-1) - 1)^2 = 4, both ways, K = 2: 2 * 4 / 2 = 4
    assert torch.allclose(spatial_consistency_loss(inverted, orig), torch.tensor([4.0]))


def test_smoothness_zero_for_constant_curves_and_by_hand() -> None:
    assert torch.allclose(illumination_smoothness_loss(torch.full((2, 24, 5, 7), 0.3)), torch.zeros(2))
    c = torch.zeros(1, 1, 2, 2)
    c[..., :, 1] = 1.0  # horizontal steps of 1 on both rows, no vertical change: 2 * (1 + 0)
    assert torch.allclose(illumination_smoothness_loss(c), torch.tensor([2.0]))


def test_weighted_sum_uses_published_weights() -> None:
    w = ZeroDCELossWeights()
    assert (w.spatial, w.exposure, w.color, w.smoothness, w.level) == (1, 10, 5, 200, 0.6)
    x = torch.rand(2, 3, 32, 32)
    out = torch.rand(2, 3, 32, 32)
    curves = torch.rand(2, 24, 32, 32)
    terms = ZeroDCELoss()(out, x, curves)
    assert torch.allclose(terms["exp"], 10 * exposure_control_loss(out).mean())
    assert torch.allclose(terms["tv"], 200 * illumination_smoothness_loss(curves).mean())
    assert torch.allclose(terms["loss"], terms["spa"] + terms["exp"] + terms["col"] + terms["tv"])


def test_small_images_do_not_crash() -> None:
    x = torch.rand(1, 3, 5, 3)
    assert exposure_control_loss(x).shape == (1,)
    assert spatial_consistency_loss(x, x).shape == (1,)


def test_smoothness_sums_over_the_curve_maps() -> None:
    g = torch.Generator().manual_seed(0)
    one = torch.rand(2, 1, 9, 11, generator=g)
    maps = one.repeat(1, 24, 1, 1)
    # published strength: each map's mean squared gradient, summed over the 24 maps
    assert torch.allclose(illumination_smoothness_loss(maps), 24 * illumination_smoothness_loss(one))
    assert torch.allclose(illumination_smoothness_loss(maps, channels="mean"), illumination_smoothness_loss(one))
    with pytest.raises(ValueError):
        illumination_smoothness_loss(maps, channels="max")
