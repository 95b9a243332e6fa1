"""LoopExpose losses: ranking over the known order (hand-made cases), SSIM loss vs the SSIM metric."""

from __future__ import annotations

import pytest
import torch

from exposurekit.losses import RankingLoss, SSIMLoss, ranking_loss, ssim_loss


def test_ranking_zero_when_ordered_with_margin():
    assert ranking_loss(torch.tensor([0.0, 0.2, 0.5, 0.9]), margin=0.1) == 0


def test_ranking_hand_computed_reversed_pair():
    # pair (0, 1): relu(1.0 - 0.0 + 0.1) = 1.1
    assert torch.isclose(ranking_loss(torch.tensor([1.0, 0.0]), margin=0.1), torch.tensor(1.1))


def test_ranking_hand_computed_three_frames():
    lum = torch.tensor([0.5, 0.0, 1.0])
    # pairs (0,1): relu(0.5 + 0.2) = 0.7; (0,2): relu(-0.5 + 0.2) = 0; (1,2): relu(-1 + 0.2) = 0
    assert torch.isclose(ranking_loss(lum, margin=0.2, reduction="sum"), torch.tensor(0.7))
    assert torch.isclose(ranking_loss(lum, margin=0.2), torch.tensor(0.7 / 3))


def test_ranking_margin_fixes_constant_scalars():
    const = torch.full((5,), 0.3)
    assert ranking_loss(const, margin=0.0) == 0  # the release's margin: trivially satisfied
    assert torch.isclose(ranking_loss(const, margin=0.1), torch.tensor(0.1))


def test_ranking_too_close_pair_is_penalised():
    assert torch.isclose(ranking_loss(torch.tensor([0.0, 0.05]), margin=0.1), torch.tensor(0.05))


def test_ranking_single_frame_and_batches():
    assert ranking_loss(torch.tensor([0.7])) == 0
    batch = torch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    per_seq = ranking_loss(batch, margin=0.0, reduction="none")
    assert torch.allclose(per_seq, torch.tensor([0.0, 4.0]))  # (2-1)+(2-0)+(1-0)


def test_ranking_gradient_pushes_order():
    lum = torch.tensor([1.0, 0.0], requires_grad=True)
    RankingLoss(margin=0.1)(lum).backward()
    assert lum.grad[0] > 0 and lum.grad[1] < 0  # descent lowers the dark frame's scalar and raises the bright one's


def test_ranking_rejects_bad_input():
    with pytest.raises(ValueError):
        ranking_loss(torch.zeros(2), margin=-1)
    with pytest.raises(ValueError):
        ranking_loss(torch.zeros(2, 2, 2))


def test_ssim_loss_matches_metric():
    from exposurekit.metrics import ssim

    x, y = torch.rand(2, 3, 32, 40), torch.rand(2, 3, 32, 40)
    y = 0.5 * x + 0.5 * y
    assert torch.allclose(ssim_loss(x, y, reduction="none"), 1 - ssim(x, y), atol=1e-4)
    assert ssim_loss(x, x) < 1e-5
    assert torch.isclose(SSIMLoss(loss_weight=0.5)(x, y), 0.5 * ssim_loss(x, y))


def test_ssim_loss_small_images_and_gradient():
    x = torch.rand(1, 3, 6, 9, requires_grad=True)
    loss = ssim_loss(x, torch.rand(1, 3, 6, 9))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
