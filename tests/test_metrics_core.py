"""Metrics against hand-computed values and scikit-image on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from exposurekit.metrics import (
    clipped_fractions,
    colourfulness,
    delta_e2000,
    delta_e2000_lab,
    mean_luminance_error,
    psnr,
    rgb_to_ycbcr_y,
    ssim,
)


def _pair(b=2, h=32, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, h, w, generator=g, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(b, 3, h, w, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, y


def test_psnr_hand_value():
    x = torch.zeros(1, 3, 4, 4)
    assert float(psnr(x, torch.full_like(x, 0.1))) == pytest.approx(20.0, abs=1e-4)
    assert float(psnr(x * 255, torch.full_like(x, 25.5), data_range=255.0)) == pytest.approx(20.0, abs=1e-4)
    assert math.isinf(float(psnr(x, x)))


def test_psnr_matches_skimage_per_image():
    x, y = _pair()
    ours = psnr(x, y)
    assert ours.shape == (2,)
    for i in range(2):
        ref = peak_signal_noise_ratio(y[i].numpy(), x[i].numpy(), data_range=1.0)
        assert float(ours[i]) == pytest.approx(ref, abs=1e-8)


def test_psnr_y_uses_bt601_studio_luma():
    x, y = _pair()
    yx, yy = rgb_to_ycbcr_y(x), rgb_to_ycbcr_y(y)
    ref = peak_signal_noise_ratio(yy[0, 0].numpy(), yx[0, 0].numpy(), data_range=1.0)
    assert float(psnr(x, y, space="y")[0]) == pytest.approx(ref, abs=1e-8)
    # white maps to 235/255 and black to 16/255
    assert float(rgb_to_ycbcr_y(torch.ones(1, 3, 1, 1))) == pytest.approx(235 / 255, abs=1e-4)
    assert float(rgb_to_ycbcr_y(torch.zeros(1, 3, 1, 1))) == pytest.approx(16 / 255, abs=1e-6)


@pytest.mark.parametrize("space", ["rgb", "y"])
def test_ssim_matches_skimage_gaussian(space):
    x, y = _pair(h=33, w=47)
    ours = ssim(x, y, space=space)
    for i in range(2):
        a, b = (x[i], y[i]) if space == "rgb" else (rgb_to_ycbcr_y(x[i]), rgb_to_ycbcr_y(y[i]))
        ref = structural_similarity(a.numpy(), b.numpy(), gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1.0, channel_axis=0)
        assert float(ours[i]) == pytest.approx(ref, abs=1e-7)
    f32 = ssim(x.float(), y.float(), space=space)
    assert torch.allclose(f32.double(), ours, atol=1e-5)


def test_ssim_properties():
    x, y = _pair()
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=x.dtype))
    assert (ssim(x, y) < 1).all()
    assert torch.allclose(ssim(x, y), ssim(y, x))
    # constant images of different level: only the luminance term differs (hand value)
    a, b = torch.full((1, 1, 16, 16), 0.2), torch.full((1, 1, 16, 16), 0.6)
    c1 = 0.01**2
    assert float(ssim(a, b)) == pytest.approx((2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1), rel=1e-5)
    with pytest.raises(ValueError, match="at least 11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 17))


# Sharma, Wu & Dalal (2005) test data: (Lab1, Lab2, published ΔE00)
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((50.0, -0.001, 2.49), (50.0, 0.0011, -2.49), 4.7461),
]


def test_delta_e2000_sharma_values():
    lab1 = torch.tensor([s[0] for s in SHARMA], dtype=torch.float64).view(-1, 3, 1, 1)
    lab2 = torch.tensor([s[1] for s in SHARMA], dtype=torch.float64).view(-1, 3, 1, 1)
    de = delta_e2000_lab(lab1, lab2).flatten()
    assert de.numpy() == pytest.approx([s[2] for s in SHARMA], abs=1e-4)


def test_delta_e2000_lab_matches_skimage_random():
    rng = np.random.default_rng(1)
    l1 = np.stack([rng.uniform(0, 100, 500), rng.uniform(-100, 100, 500), rng.uniform(-100, 100, 500)], -1)
    l2 = np.stack([rng.uniform(0, 100, 500), rng.uniform(-100, 100, 500), rng.uniform(-100, 100, 500)], -1)
    ref = deltaE_ciede2000(l1, l2)
    ours = delta_e2000_lab(torch.from_numpy(l1.T.copy())[None, :, :, None],
                           torch.from_numpy(l2.T.copy())[None, :, :, None])
    assert ours.flatten().numpy() == pytest.approx(ref, abs=1e-6)


def test_delta_e2000_rgb_matches_skimage():
    x, y = _pair(b=1, h=8, w=8)
    ref = deltaE_ciede2000(rgb2lab(x[0].permute(1, 2, 0).numpy()), rgb2lab(y[0].permute(1, 2, 0).numpy())).mean()
    assert float(delta_e2000(x.float(), y.float())[0]) == pytest.approx(ref, abs=2e-3)
    assert float(delta_e2000(x.float(), x.float())[0]) == 0.0


def test_colourfulness_hand_value():
    x = torch.zeros(1, 3, 2, 2)
    x[0, 0, 0, :] = 1.0  # top row pure red, bottom row black
    # rg: {255, 0} -> mean 127.5, std 127.5;  yb: {127.5, 0} -> mean 63.75, std 63.75
    s = math.hypot(127.5, 63.75)
    assert float(colourfulness(x)) == pytest.approx(s + 0.3 * s, rel=1e-5)
    assert float(colourfulness(torch.full((1, 3, 5, 5), 0.7))) == pytest.approx(0.0, abs=1e-6)


def test_clipped_and_luminance_hand_values():
    x = torch.full((1, 3, 2, 2), 0.5)
    x[0, :, 0, 0] = 0.0          # black pixel -> shadow
    x[0, 2, 0, 1] = 1.0          # one saturated channel -> highlight
    x[0, 0, 1, 0] = 0.0          # one dark channel only: not a crushed shadow
    shadows, highlights = clipped_fractions(x)
    assert float(shadows) == 0.25 and float(highlights) == 0.25
    grey = torch.full((2, 3, 3, 3), 0.8)
    assert mean_luminance_error(grey).numpy() == pytest.approx([0.3, 0.3], abs=1e-6)
    assert float(mean_luminance_error(grey, target=0.8)[0]) == pytest.approx(0.0, abs=1e-6)


def test_delta_e2000_float32_close_to_float64():
    rng = np.random.default_rng(2)
    lab1 = torch.from_numpy(rng.uniform([0, -90, -90], [100, 90, 90], (400, 3)).T.copy())[None, :, :, None]
    lab2 = (lab1 + torch.from_numpy(rng.normal(0, 3, (1, 3, 400, 1))))
    d64 = delta_e2000_lab(lab1, lab2)
    d32 = delta_e2000_lab(lab1.float(), lab2.float())
    assert d32.dtype == torch.float32 and torch.allclose(d32.double(), d64, atol=2e-3)
