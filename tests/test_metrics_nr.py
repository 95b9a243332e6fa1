"""Edge F1 and NIQE: hand-made maps, detector behaviour and the shipped pristine model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import gennorm

from exposurekit.metrics import canny_edges, edge_f1, edge_prf, niqe
from exposurekit.metrics.niqe import DEFAULT_MODEL, NIQEModel, fit_aggd, fit_ggd, fit_niqe_model


def test_edge_prf_hand_values():
    t = torch.zeros(1, 1, 10, 10, dtype=torch.bool)
    t[0, 0, :, 3] = True                      # 10 reference edge pixels
    p = torch.zeros_like(t)
    p[0, 0, :5, 3] = True                     # half of them found ...
    p[0, 0, :, 8] = True                      # ... plus 10 false ones, 5 px away
    prec, rec, f1 = edge_prf(p, t, tolerance=2.0)
    assert float(prec) == pytest.approx(5 / 15)
    assert float(rec) == pytest.approx(7 / 10)  # rows 0-4 found, rows 5-6 lie within 2 px of row 4
    assert float(f1) == pytest.approx(2 * (1 / 3) * 0.7 / (1 / 3 + 0.7))
    empty = torch.zeros_like(t)
    assert float(edge_prf(empty, empty)[2]) == 1.0
    assert float(edge_prf(empty, t)[2]) == 0.0


def test_canny_finds_a_step_and_f1_drops_when_contrast_is_lost():
    x = torch.zeros(1, 3, 32, 32)
    x[..., 16:] = 0.8
    e = canny_edges(x)
    assert e.shape == (1, 1, 32, 32) and e.dtype == torch.bool
    cols = e[0, 0].nonzero()[:, 1]
    assert e.sum() >= 28 and cols.min() >= 14 and cols.max() <= 17
    assert float(edge_f1(x, x)) == 1.0
    dark = x * 0.05                            # step of 10 codes: below the Canny threshold
    assert float(edge_f1(dark, x)) == 0.0


def test_edge_f1_with_a_network_detector():
    x = torch.rand(2, 3, 24, 24)

    def detector(im):                          # stand-in "network": gradient magnitude of grey
        g = im.mean(1, keepdim=True)
        return F.pad((g[..., :, 1:] - g[..., :, :-1]).abs(), (0, 1, 0, 0)) * 4
    f = edge_f1(x, x, detector=detector)
    assert f.shape == (2,) and torch.all(f == 1)


@pytest.mark.parametrize("alpha", [0.8, 2.0])
def test_ggd_fit_recovers_shape(alpha):
    x = gennorm.rvs(alpha, size=200_000, random_state=0)
    a, var = fit_ggd(x)
    assert a == pytest.approx(alpha, rel=0.05)
    assert var == pytest.approx(float(np.mean(x * x)), rel=1e-9)


def test_aggd_fit_symmetric_case_and_sign_of_mean():
    x = gennorm.rvs(1.5, size=200_000, random_state=1)
    a, mean, vl, vr = fit_aggd(x)
    assert a == pytest.approx(1.5, rel=0.05) and abs(mean) < 0.02 and vl == pytest.approx(vr, rel=0.03)
    skew = np.where(x > 0, 2 * x, x)          # right side wider -> positive mean
    assert fit_aggd(skew)[1] > 0


def test_niqe_ranks_distortions_with_shipped_model():
    assert DEFAULT_MODEL.is_file(), "run benchmarks/fit_niqe.py"
    model = NIQEModel.load()
    assert model.mean.shape == (36,) and model.cov.shape == (36, 36) and "clean" in model.info
    # a smooth natural-ish image: low-pass filtered noise with 1/f-like structure
    g = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, 24, 24, generator=g)
    img = F.interpolate(base, size=(192, 192), mode="bicubic", align_corners=False).clamp(0, 1)
    img = (img + 0.02 * torch.rand(1, 3, 192, 192, generator=g)).clamp(0, 1)
    noisy = (img + 0.25 * torch.randn(1, 3, 192, 192, generator=g)).clamp(0, 1)
    s = niqe(torch.cat([img, noisy]))
    assert s.shape == (2,) and torch.isfinite(s).all()
    assert s[1] > s[0] + 1.0
    with pytest.raises(ValueError, match="at least 96"):
        niqe(torch.rand(1, 3, 64, 64))


def test_fit_niqe_model_round_trip(tmp_path):
    g = torch.Generator().manual_seed(3)
    ims = [F.interpolate(torch.rand(1, 3, 40, 40, generator=g), size=(192, 288), mode="bilinear")[0]
           for _ in range(8)]
    m = fit_niqe_model(ims, sharpness_fraction=0.0, info="test")
    path = m.save(tmp_path / "m.safetensors")
    m2 = NIQEModel.load(path)
    assert np.allclose(m.mean, m2.mean) and np.allclose(m.cov, m2.cov) and m2.info == "test"
    assert float(niqe(ims[0][None], model=m2)) >= 0
