"""SIMR pseudo-targets: labels from brackets, gamma search, region mode, disk cache, classifier, losses."""

from __future__ import annotations

import math

import pytest
import torch

from exposurekit.guidance.exposure_classifier import (
    ExposureClassifier,
    bracket_labels,
    soft_histogram,
    train_exposure_classifier,
)
from exposurekit.guidance.pseudo_targets import PseudoTargetMaker, apply_log_gamma, gamma_grid
from exposurekit.losses.simr import SIMRLoss, region_color_loss, region_exposure_loss


class MeanScorer(torch.nn.Module):
    """P(well) peaks when the mean value is ``target``: a known optimum for the search."""

    def __init__(self, target=0.5):
        super().__init__()
        self.target = target

    def forward(self, x):
        m = x.mean((1, 2, 3))
        well = torch.exp(-((m - self.target) / 0.05) ** 2)
        return torch.stack([(1 - well) * (m < self.target), well, (1 - well) * (m >= self.target)], 1)


def test_bracket_labels():
    assert bracket_labels(3, 1) == [0, 1, 2]
    assert bracket_labels(4, 0) == [1, 2, 2, 2]


def test_gamma_search_finds_the_known_optimum():
    x = torch.full((1, 3, 20, 30), 0.2)
    maker = PseudoTargetMaker(MeanScorer(0.5), grid=gamma_grid(0.2, 5.0, 41))
    g = math.exp(float(maker.log_gamma(x).mean()))
    assert abs(0.2 ** g - 0.5) < 0.02
    t = maker.target(x)
    assert t.shape == x.shape and abs(float(t.mean()) - 0.5) < 0.02


def test_region_mode_treats_regions_separately():
    x = torch.full((1, 3, 40, 40), 0.1)
    x[:, :, :, 20:] = 0.7
    masks = torch.zeros(1, 40, 40, dtype=torch.long)
    masks[:, :, 20:] = 1
    scorer = MeanScorer(0.45)
    glob = PseudoTargetMaker(scorer, mode="global", analysis_side=40).log_gamma(x)
    reg = PseudoTargetMaker(scorer, mode="region", analysis_side=40, region_weight=1.0, smooth=0.01).log_gamma(x, masks)
    assert torch.allclose(glob, glob.mean())  # one value
    assert reg[0, 0, 20, 2] < reg[0, 0, 20, 37] - 0.5  # dark half brightened more (smaller gamma)
    with pytest.raises(ValueError, match="masks"):
        PseudoTargetMaker(scorer, mode="region").log_gamma(x)


def test_pseudo_targets_are_cached_on_disk(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"x" * 10)
    calls = []

    class Counting(MeanScorer):
        def forward(self, x):
            calls.append(len(x))
            return super().forward(x)

    maker = PseudoTargetMaker(Counting(), cache=tmp_path / "cache", scorer_id="t")
    x = torch.full((1, 3, 16, 16), 0.3)
    a = maker.log_gamma_cached(img, x)
    n = len(calls)
    b = maker.log_gamma_cached(img, x)
    assert len(calls) == n and torch.allclose(a, b, atol=1e-3)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1


def test_apply_log_gamma_scalar_and_map():
    x = torch.full((2, 3, 4, 4), 0.25)
    assert torch.allclose(apply_log_gamma(x, torch.tensor([0.0, math.log(0.5)])).mean((1, 2, 3)),
                          torch.tensor([0.25, 0.5]))
    assert apply_log_gamma(x, torch.zeros(2, 1, 2, 2)).shape == x.shape


def test_classifier_learns_under_well_over():
    torch.manual_seed(0)
    base = torch.rand(32, 3, 32, 32) * 0.5 + 0.25
    imgs = torch.cat([base ** 3, base, base ** 0.3])  # under, well, over
    labels = torch.tensor([0] * 32 + [1] * 32 + [2] * 32)
    net = train_exposure_classifier((imgs * 255).round().to(torch.uint8), labels, epochs=12, batch_size=32)
    assert isinstance(net, ExposureClassifier)
    test = torch.rand(10, 3, 32, 32) * 0.5 + 0.25
    with torch.no_grad():
        pred = net(torch.cat([test ** 3, test, test ** 0.3])).argmax(1)
    assert (pred == torch.tensor([0] * 10 + [1] * 10 + [2] * 10)).float().mean() > 0.8


def test_soft_histogram_sums_to_one_and_has_gradient():
    y = torch.rand(2, 1, 8, 8, requires_grad=True)
    h = soft_histogram(y)
    assert torch.allclose(h.sum(1), torch.ones(2))
    h[:, 5].sum().backward()
    assert y.grad.abs().sum() > 0


def test_losses_zero_at_target_and_region_terms():
    x = torch.rand(1, 3, 8, 8) * 0.5 + 0.2
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    out = SIMRLoss()(x, x * 0.5, x, labels)
    assert float(out["mse"]) == 0 and float(out["cos"]) < 1e-6 and float(out["color"]) < 1e-6
    assert float(out["region"]) < 1e-6  # uniform gain 2x inside each region -> no variance
    uneven = x.clone()
    uneven[:, :, :2] *= 0.5  # part of region 0 darkened -> non-uniform exposure change
    assert float(region_exposure_loss(uneven, x, labels)) > 1e-3
    tinted = x.clone()
    tinted[:, 0] *= 1.5
    assert float(region_color_loss(tinted, x, labels)) > 1e-3
    total = SIMRLoss(scorer=MeanScorer())
    total.weights.align = 1.0
    assert "align" in total(x, x, x, labels)


def test_clip_exposure_prompts_with_tiny_random_clip(tmp_path, shared_weights):
    pytest.importorskip("transformers")
    from _clip_tiny import make_tiny_clip

    from exposurekit.guidance.clip import ClipGuide
    from exposurekit.guidance.pseudo_targets import ClipExposureScorer, train_exposure_prompts

    guide = ClipGuide.from_pretrained(make_tiny_clip(tmp_path / "clip", shared_weights / "clip_tokenizer"))
    base = torch.rand(8, 3, 32, 32) * 0.5 + 0.25
    imgs = (torch.cat([base ** 3, base, base ** 0.3]) * 255).round().to(torch.uint8)
    labels = torch.tensor([0] * 8 + [1] * 8 + [2] * 8)
    logs = []
    scorer = train_exposure_prompts(guide, imgs, labels, steps=20, batch_size=24, lr=0.05, log=logs.append)
    assert isinstance(scorer, ClipExposureScorer) and scorer.prompts.learner.ctx.shape[0] == 3
    p = scorer(imgs[:4].float() / 255)
    assert p.shape == (4, 3) and torch.allclose(p.sum(1), torch.ones(4), atol=1e-5)
    first, last = float(logs[0].split("loss ")[1]), float(logs[-1].split("loss ")[1])
    assert last <= first  # the prompts learn (a random tiny CLIP cannot separate much)
    g = PseudoTargetMaker(scorer, analysis_side=32).log_gamma(base[:1])
    assert g.shape == (1, 1, 32, 32) and torch.isfinite(g).all()
