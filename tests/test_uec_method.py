"""UEC method: registry default, targets, exact vs lookup-table paths, save/load, real-image behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from exposurekit.methods.base import WEIGHTS_DIR
from exposurekit.methods.registry import default_method_name, load_method
from exposurekit.methods.uec import (
    AUTO_EVS,
    TARGET_EVS,
    UECMethod,
    compute_targets,
    expose,
    luminance_histogram,
)
from exposurekit.ops.color import luminance

SHIPPED = WEIGHTS_DIR / "uec.safetensors"



@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: the CI machine is small and shared; OpenMP threads then only contend."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _random_method(height: int = 64, lut_size: int = 17, **kw) -> UECMethod:
    """A UEC method with non-trivial random weights and a target computed from random references."""
    kw = {"steep_lut_size": None, "table_size": 17, **kw}
    m = UECMethod(height=height, lut_size=lut_size, **kw)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in m.model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    compute_targets(m, [torch.rand(1, 3, 40, 60), torch.rand(1, 3, 50, 50) * 0.8])
    return m.eval()


def _shipped(**kw) -> UECMethod:
    if not SHIPPED.exists():
        pytest.skip("no shipped uec.safetensors")
    return load_method("uec", **kw)


def test_uec_is_the_default_method():
    assert default_method_name() == "uec"
    assert isinstance(load_method(None), UECMethod)


def test_shipped_weights_small_and_loaded():
    m = _shipped()
    assert SHIPPED.stat().st_size < 200 * 1024
    assert m.weights_path == SHIPPED
    assert m.target_features.abs().sum() > 0  # a real default target is stored with the weights
    assert torch.isclose(m.target_hist.sum(), torch.tensor(1.0))


@pytest.mark.parametrize("path", ["exact", "lut", "lut8"])
def test_correct_shapes_and_batches(path):
    m = _random_method(path=path)
    x = torch.rand(3, 3, 37, 53)
    y = m.correct(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    # per-image: the batch result equals each image corrected alone
    alone = torch.cat([m.correct(x[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(y, alone, atol=1e-5, rtol=0)


def test_lut_equals_exact_on_grid_colours():
    """The baked table holds the exact 3-pass result at its nodes; trilinear lookup returns it there."""
    m = _random_method()
    n = m.lut_size
    x = torch.rand(2, 3, 48, 64)
    state = m.analyze(x)
    nodes = torch.randint(0, n, (2, 3, 8, 8)).float() / (n - 1)
    exact = m._apply_exact(nodes, state.lambdas)
    m.path = "lut"
    lut = m.apply(nodes, state)
    assert float((lut - exact).abs().max()) < 1e-4
    # between nodes the table interpolates: close, not equal, for these rough random weights
    assert float((m.apply(x, state) - m._apply_exact(x, state.lambdas)).abs().mean()) < 2e-3


def test_save_load_round_trip(tmp_path):
    m = _random_method()
    x = torch.rand(2, 3, 30, 40)
    before = m.correct(x)
    path = m.save_weights(tmp_path / "uec.safetensors")
    m2 = load_method("uec", weights=path, height=64, lut_size=17, steep_lut_size=None, table_size=17)
    torch.testing.assert_close(m2.correct(x), before, atol=0, rtol=0)
    torch.testing.assert_close(m2.target_features, m.target_features)
    for (k, a), b in zip(m.model.state_dict().items(), m2.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_reference_and_ev_options():
    m = _random_method()
    x = torch.rand(1, 3, 32, 32)
    ref = torch.rand(1, 3, 40, 40)
    a = UECMethod(reference=ref, height=64, lut_size=17, table_size=17)
    a.model.load_state_dict(m.model.state_dict())
    feats = a.reference_features()
    with torch.no_grad():
        torch.testing.assert_close(feats, m.model.encode(ref.expand(1, -1, -1, -1)), atol=1e-5, rtol=0)
    assert a.correct(x).shape == x.shape
    # the table interpolates linearly between tabulated EVs
    mid = m.target_at(0.25)
    torch.testing.assert_close(mid, (m.target_at(0.0) + m.target_at(0.5)) / 2)
    assert m.target_at(TARGET_EVS[-1] + 5).shape == (1, 96)  # clamped, not an error
    with pytest.raises(FileNotFoundError):
        UECMethod(reference="/no/such/reference.jpg")
    with pytest.raises(ValueError):
        UECMethod(path="fast")
    with pytest.raises(ValueError):
        UECMethod(target="best")


def test_expose_and_histogram():
    x = torch.full((1, 3, 4, 4), 0.5)
    assert float(expose(x, 1.0).mean()) > 0.6 > 0.5 > float(expose(x, -1.0).mean())
    torch.testing.assert_close(expose(x, 0.0), x, atol=1e-5, rtol=0)
    h = luminance_histogram(torch.rand(2, 3, 8, 8))
    assert h.shape == (2, 64)
    torch.testing.assert_close(h.sum(1), torch.ones(2))


def test_auto_target_picks_per_image():
    m = _random_method(target="auto")
    x = torch.cat([torch.rand(1, 3, 32, 32) * 0.1, torch.rand(1, 3, 32, 32) * 0.2 + 0.8])
    state = m.analyze(x)
    assert state.evs is not None and state.evs.shape == (2,)
    assert all(min(AUTO_EVS) <= float(e) <= max(AUTO_EVS) for e in state.evs)
    assert m.correct(x).shape == x.shape


def test_correct_array_uint8_and_float():
    m = _random_method()
    img = (np.random.default_rng(0).random((40, 70, 3)) * 255).astype(np.uint8)
    out = m.correct_array(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    outf = m.correct_array(img.astype(np.float32) / 255)
    assert outf.dtype == np.float32
    assert np.abs(outf * 255 - out.astype(np.float32)).max() <= 3


# ---------------------------------------------------------------- real images, shipped weights
def _real_frames(shared_data, n=3):
    from exposurekit.data.brackets import load_mef
    from exposurekit.io import read_image
    from exposurekit.ops import array_to_tensor, resize_long_side

    br = [b for b in load_mef(shared_data / "mef_ma_database") if b.held_out][:1]
    assert br, "expected held-out MEF scenes"
    frames = br[0].frames
    picks = [frames[0], frames[len(frames) // 2], frames[-1]][:n]
    return [resize_long_side(array_to_tensor(read_image(f).rgb), 320) for f in picks]


def test_monotonic_in_reference_ev_on_real_images(shared_data):
    m = _shipped()
    for x in _real_frames(shared_data):
        lums = []
        for ev in (-2.0, -1.0, 0.0, 1.0, 2.0):
            m.ev = ev
            lums.append(float(luminance(m.correct(x)).mean()))
        assert all(b > a for a, b in zip(lums, lums[1:])), lums
        assert lums[-1] - lums[0] > 0.1, lums


def test_lut8_error_on_real_photo(shared_data):
    """Pillow 8-bit lookup table vs the network on every pixel: at most 1/255 (after rounding both)."""
    import cv2

    from exposurekit.io import read_image

    m = _shipped()
    img = read_image(shared_data / "clean_kodak24" / "kodim05.png").rgb[:200, :300]
    dark = cv2.convertScaleAbs(img, alpha=0.35)  # an under-exposed real photo: strong correction
    for a in (img, dark):
        fast = m.correct_array(a)
        x = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
        state = m.analyze(m._small_from_u8(a))
        exact = (m._apply_exact(x, state.lambdas)[0].permute(1, 2, 0) * 255).round().numpy()
        err = np.abs(fast.astype(np.float32) - exact)
        # steep brightening maps (slope > 3 levels per level) get a 65^3 table (docs/uec.md)
        assert err.max() <= 1.0, (err.max(), float(m.max_slope(state.lambdas)[0]))


def test_real_dark_frame_gets_brighter(shared_data):
    m = _shipped()
    frames = _real_frames(shared_data)
    dark, bright = frames[0], frames[-1]
    assert float(luminance(m.correct(dark)).mean()) > float(luminance(dark).mean()) + 0.05
    assert float(luminance(m.correct(bright)).mean()) < float(luminance(bright).mean())
