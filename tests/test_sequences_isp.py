"""RAW rendering at several EVs (vs rawpy's default), bare Bayer mosaics, and sRGB unprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from exposurekit.isp.raw import bt709_oetf, compare_with_rawpy, render_bayer, render_raw
from exposurekit.isp.unprocess import (
    inverse_smoothstep,
    process,
    render_srgb_evs,
    sample_unprocess_params,
    smoothstep,
    unprocess,
)
from exposurekit.ops import luminance


@pytest.fixture(autouse=True)
def _one_thread():
    """The CI machine is shared: torch's thread pool only adds contention for these small tensors."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


RAW_TOL_MEAN = 0.5  # 8-bit levels; documented in docs/sequences.md
RAW_TOL_MAX = 1.0

CLEAN_SETS = ("clean_kodak24", "clean_skimage_data", "clean_debian_lomiri_wallpapers_1604", "clean_debian_mate_nature")


@pytest.fixture(scope="module")
def kdc(shared_data: Path) -> Path:
    pytest.importorskip("rawpy")
    return shared_data / "raw_samples" / "RAW_KODAK_DC50.KDC"


def test_raw_ev0_matches_rawpy_default(kdc):
    d = compare_with_rawpy(kdc)
    assert d["mean_abs"] <= RAW_TOL_MEAN and d["max_abs"] <= RAW_TOL_MAX, d
    assert 1.0 < d["gain"] < 5.0


def test_raw_frames_differ_in_exposure_only(kdc):
    evs = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
    frames, info = render_raw(kdc, evs)
    assert frames.shape == (7, 3, 512, 768) and info["transfer"] == "bt709"
    means = luminance(frames).mean((1, 2, 3))
    assert torch.all(means[1:] > means[:-1] + 0.03), means
    # in linear light, EV -1 is half of EV 0 wherever neither is clipped (same gain, no tone change)
    lin, _ = render_raw(kdc, (-1.0, 0.0), transfer="linear", gain=1.0)
    ok = (lin[1] > 0.05) & (lin[1] < 0.9)
    ratio = lin[0][ok] / lin[1][ok]
    assert abs(float(ratio.median()) - 0.5) < 0.01 and float((ratio - 0.5).abs().quantile(0.9)) < 0.02


def test_bt709_curve():
    x = torch.tensor([0.0, 0.01, 0.018053968510807, 0.5, 1.0])
    y = bt709_oetf(x)
    assert torch.allclose(y[:2], 4.5 * x[:2]) and float(y[-1]) == pytest.approx(1.0)
    assert abs(float(y[2]) - 4.5 * 0.018053968510807) < 1e-4  # continuous at the toe
    assert float(y[3]) == pytest.approx(1.09929682680944 * 0.5**0.45 - 0.09929682680944)


def test_bayer_pattern_and_monotonic(shared_data):
    # synthetic: a smooth colour image mosaicked in each pattern comes back close to itself
    rng = np.random.default_rng(0)
    import cv2

    img = cv2.GaussianBlur(rng.random((48, 48, 3)).astype(np.float32), (0, 0), 4)
    img = (img - img.min()) / (img.max() - img.min()) * 0.8 + 0.1
    ch = {"R": 0, "G": 1, "B": 2}
    for pat in ("RGGB", "GRBG", "BGGR", "GBRG"):
        m = np.zeros((48, 48), np.float32)
        for dy in range(2):
            for dx in range(2):
                m[dy::2, dx::2] = img[dy::2, dx::2, ch[pat[2 * dy + dx]]]
        out, info = render_bayer(m, pat, white_level=1.0, evs=(0.0,), white_balance=(1, 1, 1),
                                 transfer="linear", gain=1.0)
        err = np.abs(out[0].permute(1, 2, 0).numpy() - img)[4:-4, 4:-4].mean()
        assert err < 0.01, (pat, err)
    # the real 16-bit Halide crop
    from exposurekit.io import read_image

    mosaic = read_image(shared_data / "raw_samples" / "halide_bayer_small.png").rgb[..., 0]
    frames, info = render_bayer(mosaic, "GRBG", black_level=25, white_level=1023, evs=(-2, -1, 0, 1, 2))
    means = luminance(frames).mean((1, 2, 3))
    assert torch.all(means[1:] > means[:-1]), means
    assert info["white_balance"][1] == 1.0 and min(info["white_balance"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        render_bayer(mosaic, "RGBX")


def test_smoothstep_inverse():
    y = torch.linspace(0, 1, 101, dtype=torch.float64)
    assert torch.allclose(smoothstep(inverse_smoothstep(y)), y, atol=1e-9)


def test_unprocess_roundtrip_and_recorded_params():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, 16, 16, generator=g)
    p = sample_unprocess_params(torch.Generator().manual_seed(1))
    assert p == sample_unprocess_params(torch.Generator().manual_seed(1))
    assert p != sample_unprocess_params(torch.Generator().manual_seed(2))
    assert 1.9 <= p.red_gain <= 2.4 and 1.5 <= p.blue_gain <= 1.9
    m = np.array(p.rgb2cam)
    assert np.allclose(m.sum(1), 1) and (m >= 0).all() and (np.diag(m) > m.max(0) - 1e-12).all()
    assert torch.allclose(process(unprocess(x.double(), p), p).float(), x, atol=1e-5)
    frames, p2 = render_srgb_evs(x, (-1.0, 0.0, 1.0), params=p)
    assert p2 is p and torch.allclose(frames[1], x[0], atol=1e-5)
    d = p.to_dict()
    assert set(d) == {"rgb2cam", "red_gain", "blue_gain", "tone_curve"}


def test_clipped_source_highlights_stay_flat():
    x = torch.full((1, 3, 8, 8), 0.4)
    x[..., :4, :] = 1.0  # a blown sky
    frames, _ = render_srgb_evs(x, (-2.0, 0.0), generator=torch.Generator().manual_seed(0))
    sky = frames[0, :, :4, :]
    assert float(sky.std()) < 1e-6 and float(sky.mean()) < 0.9  # darker, but no detail comes back


def _thumb(path: Path, long_side: int = 96) -> torch.Tensor:
    with Image.open(path) as im:
        im.draft("RGB", (long_side * 2, long_side * 2))
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def test_srgb_sequences_luminance_rises_with_ev_for_every_clean_photo(shared_data):
    evs = (-3.0, -1.5, -1.0, 0.0, 1.0, 1.5, 3.0)
    n = 0
    for s in CLEAN_SETS:
        for f in sorted((shared_data / s).iterdir()):
            if f.suffix.lower() not in (".png", ".jpg", ".jpeg"):
                continue
            frames, _ = render_srgb_evs(_thumb(f), evs, generator=torch.Generator().manual_seed(n))
            means = luminance(frames).mean((1, 2, 3))
            assert torch.all(means[1:] > means[:-1]), (f.name, means)
            n += 1
    assert n == 55


def test_saturated_sensor_pixels_stay_neutral_when_darkened():
    # a GRBG mosaic whose bright patch saturates the green sites only (as in a real white highlight)
    m = np.full((32, 32), 0.2, np.float32)
    m[8:24, 8:24] = 0.7  # R, B: 0.7 * 1.5 (white balance) > 1, so the patch is white at EV 0
    m[8:24:2, 8:24:2] = 1.0  # G sites of rows 0 mod 2 in GRBG
    m[9:24:2, 9:24:2] = 1.0  # G sites of rows 1 mod 2
    frames, _ = render_bayer(m, "GRBG", white_level=1.0, evs=(-2.0, 0.0), white_balance=(1.5, 1.0, 1.5),
                             transfer="linear", gain=1.0)
    patch = frames[:, :, 12:20, 12:20].mean((-1, -2))
    for f in patch:
        assert float(f.max() - f.min()) < 0.01, patch  # neutral at EV 0 (clipped) and at EV -2
    assert float(patch[0, 1]) == pytest.approx(0.25, abs=0.01)
