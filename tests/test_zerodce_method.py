"""The registered ``zerodce`` method: loading, weights round trip, correction, a short training run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import exposurekit as ek
from exposurekit.losses.zerodce import ZeroDCELoss
from exposurekit.methods.base import WEIGHTS_DIR
from exposurekit.methods.zerodce import ZeroDCE, ZeroDCEConfig, training_paths
from exposurekit.models.serialization import load_state
from exposurekit.train import load_config


def test_registered_as_learned_and_trainable() -> None:
    assert "zerodce" in ek.list_methods(kind="learned")
    assert "zerodce" in ek.list_methods(trainable=True)


def test_load_method_exposes_the_model() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ek.load_method("zerodce")
    assert sum(p.numel() for p in m.model.parameters()) == 79_416
    out = m.correct(torch.rand(2, 3, 19, 23) * 0.3)
    assert out.shape == (2, 3, 19, 23)
    assert 0 <= out.min() and out.max() <= 1


@pytest.mark.skipif(not (WEIGHTS_DIR / "zerodce.safetensors").exists(), reason="weights not trained yet")
def test_shipped_weights_brighten_dark_images_and_have_no_subnormals() -> None:
    state, meta = load_state(WEIGHTS_DIR / "zerodce.safetensors")
    assert meta["config"] == {"width": 32, "iterations": 8}
    tiny = torch.finfo(torch.float32).tiny
    assert sum(int(((v != 0) & (v.abs() < tiny)).sum()) for v in state.values()) == 0
    m = ek.load_method("zerodce")
    assert m.weights_path is not None
    dark = torch.linspace(0.02, 0.25, 64).view(1, 1, 8, 8).expand(1, 3, 8, 8).contiguous()
    assert m.correct(dark).mean() > dark.mean() + 0.1


def test_save_load_round_trip(tmp_path) -> None:
    m = ZeroDCE()
    with torch.no_grad():
        for p in m.model.parameters():
            p.normal_(0, 0.1)
        m.model.conv7.bias[0] = 1e-41  # subnormal: must be zeroed on save
    path = m.save_weights(tmp_path / "z.safetensors")
    state, _ = load_state(path)
    assert float(state["conv7.bias"][0]) == 0.0
    m2 = ek.load_method("zerodce", weights=path)
    x = torch.rand(1, 3, 24, 24)
    assert torch.allclose(m.correct(x), m2.correct(x), atol=1e-6)
    arr = (np.random.default_rng(0).random((10, 13, 3)) * 255).astype(np.uint8)
    assert m2.correct_array(arr).dtype == np.uint8


def _loss_on(m: ZeroDCE, frames: torch.Tensor) -> float:
    with torch.no_grad():
        out = m.model(frames)
        return float(ZeroDCELoss()(out.image, frames, out.curves)["loss"])


def test_short_training_run_lowers_the_loss(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    # dark, photo-like frames: smooth shading with a colour tint (per-pixel noise would be fought by the
    # smoothness term, weight 200 summed over the 24 curve maps, and learned far more slowly)
    shading = torch.nn.functional.interpolate(torch.rand(24, 1, 8, 8, generator=g), size=32, mode="bilinear")
    frames = shading * (0.8 + 0.2 * torch.rand(24, 3, 1, 1, generator=g)) * 0.25
    # one epoch of 12 steps: every epoch also writes a loss plot, which costs more than the steps
    cfg = load_config(ZeroDCEConfig, epochs=1, batch_size=2, lr=5e-3, size=32, threads=1)
    torch.manual_seed(0)
    m = ZeroDCE()
    before_loss, before_mean = _loss_on(m, frames), m.correct(frames).mean()
    res = m.fit(frames, tmp_path / "run", cfg, progress=False)
    assert len(res.history) == 1 and res.extra["n_images"] == 24
    assert _loss_on(m, frames) < 0.7 * before_loss
    assert m.correct(frames).mean() > before_mean + 0.02  # brighter, towards E = 0.6
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "losses.png").exists()
    # resume: a finished run is not trained again
    m2 = ZeroDCE()
    res2 = m2.fit(frames, tmp_path / "run", cfg, progress=False)
    assert len(res2.history) == 1
    assert torch.allclose(m2.correct(frames[:2]), m.correct(frames[:2]), atol=1e-6)


def test_training_paths_from_folder(tmp_path) -> None:
    from PIL import Image

    for name in ("10.png", "2.png", "1.jpg", "notes.txt"):
        if name.endswith("txt"):
            (tmp_path / name).write_text("x")
        else:
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    assert [p.name for p in training_paths(tmp_path)] == ["1.jpg", "2.png", "10.png"]
    with pytest.raises(ValueError, match="no training images"):
        training_paths([])


def test_cli_train_zerodce(tmp_path) -> None:
    from PIL import Image
    from typer.testing import CliRunner

    from exposurekit.cli.app import app
    from exposurekit.cli.main import _load_commands

    _load_commands()
    rng = np.random.default_rng(0)
    data = tmp_path / "photos"
    data.mkdir()
    for k in range(8):
        Image.fromarray((rng.random((40, 48, 3)) * 60).astype(np.uint8)).save(data / f"p{k}.png")
    out = tmp_path / "w.safetensors"
    res = CliRunner().invoke(app, ["train", "zerodce", "--data", str(data), "--run-dir", str(tmp_path / "run"),
                                   "--epochs", "1", "--batch-size", "4", "--size", "32", "--threads", "1",
                                   "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert out.exists() and (tmp_path / "run" / "config.yaml").exists()
    m = ek.load_method("zerodce", weights=out)
    assert m.correct(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    bad = CliRunner().invoke(app, ["train", "zerodce", "--data", str(tmp_path / "missing")])
    assert bad.exit_code == 2
