"""Registry contract, classical methods, tiling and the base class's tiled path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import exposurekit as ek
from exposurekit.methods import base
from exposurekit.methods.registry import register_method
from exposurekit.ops.color import linear_to_srgb, luminance, srgb_to_linear
from exposurekit.ops.tiling import tiled_apply

CLASSICAL = ["linear-gain", "auto-gamma", "clahe", "histeq"]


def test_list_and_filters():
    names = ek.list_methods()
    assert set(CLASSICAL) | {"mertens"} <= set(names)
    assert names == sorted(names)
    assert ek.list_methods("clahe*") == ["clahe"]
    assert "mertens" in ek.list_methods(kind="fusion")
    assert "clahe" not in ek.list_methods(trainable=True)


def test_unknown_name_suggests():
    with pytest.raises(KeyError, match="Did you mean 'clahe'"):
        ek.load_method("clahee")


def test_register_twice_raises():
    with pytest.raises(ValueError, match="registered twice"):
        register_method("clahe", summary="dup")(type("Dup", (base.Method,), {}))


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_contract(name):
    m = ek.load_method(name)
    x = torch.rand(2, 3, 33, 47) * 0.3
    y = m.correct(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert float(y.mean()) > float(x.mean())  # dark input gets brighter
    with pytest.raises(ValueError):
        m.correct(torch.rand(3, 33, 47))


def test_linear_gain_reaches_middle_grey():
    x = linear_to_srgb(torch.rand(1, 3, 64, 64) * 0.05)
    y = ek.load_method("linear-gain").correct(x)
    assert abs(float(luminance(y, linear=True).mean()) - 0.18) < 0.01


def test_auto_gamma_hand_computed():
    x = torch.full((1, 3, 4, 4), 0.25)
    m = ek.load_method("auto-gamma", target=0.5)
    gamma = float(m.analyze(x))
    assert gamma == pytest.approx(0.5, abs=1e-5)  # log(.5)/log(.25)
    assert torch.allclose(m.correct(x), torch.full_like(x, 0.5), atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_clahe_keeps_dtype(dtype):
    hi = 255 if dtype == np.uint8 else 65535
    a = (np.random.default_rng(0).random((40, 50, 3)) * 0.3 * hi).astype(dtype)
    out = ek.load_method("clahe").correct_array(a)
    assert out.dtype == dtype and out.shape == a.shape and out.mean() > a.mean()


def test_correct_array_tiled_equals_untiled(monkeypatch):
    m = ek.load_method("linear-gain")
    a = (np.random.default_rng(1).random((300, 200, 3)) * 100).astype(np.uint8)
    full = m.correct_array(a)
    monkeypatch.setattr(base, "TILE_PIXELS", 64 * 64)
    tiled = m.correct_array(a)
    # the tiled path estimates the gain on a strided copy: allow the rounding of that estimate
    assert np.abs(full.astype(int) - tiled.astype(int)).max() <= 2


@pytest.mark.parametrize("name", ["linear-gain", "auto-gamma"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_curve_lut_path_equals_float_path(name, dtype):
    from exposurekit.ops.convert import array_to_tensor, tensor_to_array

    m = ek.load_method(name)
    top = np.iinfo(dtype).max
    a = (np.random.default_rng(2).random((50, 70, 3)) * 0.4 * top).astype(dtype)
    fast = m.correct_array(a)
    exact = tensor_to_array(m.correct(array_to_tensor(a)), dtype)
    assert fast.dtype == dtype
    assert np.abs(fast.astype(np.int64) - exact.astype(np.int64)).max() <= 1


def test_tiled_apply_exact_for_pointwise_and_seamless_for_conv():
    x = torch.rand(1, 3, 70, 90)
    assert torch.allclose(tiled_apply(lambda t: t * 2, x, tile=32, overlap=8), x * 2, atol=1e-6)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    with torch.no_grad():
        ref = conv(x)
        out = tiled_apply(conv, x, tile=32, overlap=8)
    # away from tile borders (the conv sees 1 px), blending keeps the output equal to the untiled one
    assert (out - ref).abs()[..., 2:-2, 2:-2].median() < 1e-5


def test_srgb_roundtrip():
    x = torch.rand(2, 3, 5, 5)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)


def test_mertens_fuses_real_bracket(shared_data):
    from exposurekit.io import read_image
    from exposurekit.ops.convert import array_to_tensor

    d = shared_data / "mef_ma_database" / "Venice"
    frames = torch.cat([array_to_tensor(read_image(f).rgb) for f in sorted(d.iterdir())])
    fused = ek.load_method("mertens").fuse(frames)
    assert fused.shape == (1, 3, *frames.shape[-2:])
    lum = luminance(frames).mean(dim=(1, 2, 3))
    assert lum.min() < float(luminance(fused).mean()) < lum.max()
