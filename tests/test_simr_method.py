"""SIMR as a registered method: odd sizes, tiling without seams, weights round trip, priors, a short training run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import exposurekit as ek
from exposurekit.methods.simr import SIMR
from exposurekit.priors import PriorError


def _tiny(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ek.load_method("simr-tiny", **kw)


def _smooth_image(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, 4, 5, generator=g)
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bicubic", align_corners=False).clamp(0.05, 0.95)


def _randomise_head(m, std=0.05, residual=True):
    torch.manual_seed(1)
    with torch.no_grad():
        m.model.head.weight.normal_(0, std)
        if not residual:  # log-gamma only: a smooth output, so tile seams would stand out
            m.model.head.weight[1:] = 0


def test_registered_and_shipped_default():
    assert {"simr", "simr-tiny"} <= set(ek.list_methods())
    m = ek.load_method("simr")  # shipped weights load without a warning
    assert m.weights_path is not None and m.weights_path.name == "simr.safetensors"
    assert m.scorer is not None  # the exposure classifier ships with the weights


@pytest.mark.parametrize("size", [(37, 53), (58, 31)])
def test_correct_keeps_odd_sizes(size):
    m = _tiny()
    x = torch.rand(1, 3, *size)
    y = m.correct(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    arr = (np.random.default_rng(0).random((*size, 3)) * 255).astype(np.uint8)
    assert m.correct_array(arr).shape == arr.shape


def _jump(img):
    """Column-to-column and row-to-row mean absolute steps of an image (seams show as spikes)."""
    return (img[..., :, 1:] - img[..., :, :-1]).abs().mean((0, 1, 2)), \
        (img[..., 1:, :] - img[..., :-1, :]).abs().mean((0, 1, 3))


def test_tiling_leaves_no_seams():
    # A stand-in network with whole-tile context, as SIMR's scans have: each tile gets its own gamma
    # from its own mean, so tiles pasted side by side would disagree at their borders.
    x = _smooth_image(150, 190)
    m = _tiny(tile=64, overlap=24, prior="none")
    m.model.forward = lambda t, sem=None: t.clamp(1e-4, 1) ** (0.3 + 2 * t.mean())
    y = m.correct(x)
    naive = torch.zeros_like(x)  # the same tiles pasted without overlap or blending
    with torch.no_grad():
        for y0 in range(0, 150, 64):
            for x0 in range(0, 190, 64):
                t = x[:, :, y0:y0 + 64, x0:x0 + 64]
                naive[:, :, y0:y0 + 64, x0:x0 + 64] = m._run(t)
    col, row = _jump(y)
    ncol, nrow = _jump(naive)
    assert max(ncol[[63, 127]].max(), nrow[[63, 127]].max()) > 4 * ncol.median()  # the check can fail
    assert col.max() < 4 * col.median() and row.max() < 4 * row.median()


def test_weights_round_trip(tmp_path):
    m = _tiny()
    _randomise_head(m)
    m.name = "simr-tiny"
    path = m.save_weights(tmp_path / "w.safetensors")
    m2 = _tiny(weights=path)
    x = _smooth_image(40, 50)
    assert torch.allclose(m.correct(x), m2.correct(x), atol=1e-6)


def test_prior_none_and_missing_model_messages(tmp_path):
    m = _tiny(prior="none")
    assert m.correct(torch.rand(1, 3, 20, 24)).shape == (1, 3, 20, 24)
    with pytest.raises(PriorError, match="FastSAM ONNX model not found"):
        SIMR(preset="simr-tiny", prior="fastsam", prior_path=tmp_path / "missing.onnx")


def _write_brackets(root, n_scenes=4, size=48):
    from PIL import Image

    from exposurekit.data.splits import is_held_out

    names = [f"scene{i}" for i in range(40) if not is_held_out("mef", f"scene{i}")][:n_scenes]
    rng = np.random.default_rng(0)
    for name in names:
        d = root / name
        d.mkdir(parents=True)
        base = _smooth_image(size, size, seed=int(rng.integers(1000)))[0].permute(1, 2, 0).numpy()
        for ev, gamma in (("-2", 2.5), ("-1", 1.6), ("0", 1.0), ("+1", 0.6), ("+2", 0.4)):
            Image.fromarray((base ** gamma * 255).astype(np.uint8)).save(d / f"ev{ev}.png")
    return root


def test_short_training_run_loss_falls(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPOSUREKIT_CACHE", str(tmp_path / "cache"))
    data = _write_brackets(tmp_path / "data", n_scenes=3, size=40)
    m = SIMR(preset="simr-tiny")
    m.name = "simr-tiny"
    res = m.fit(data, run_dir=tmp_path / "run", progress=False, epochs=6, steps_per_epoch=6, batch_size=2, crop=32,
                lr=3e-3, extra={"classifier_epochs": 2, "target_mode": "global", "side": 40})
    losses = [h["loss"] for h in res.history]
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0]
    assert res.extra["weights"].is_file() and (tmp_path / "run" / "losses.png").is_file()
    m2 = _tiny(weights=res.extra["weights"])
    assert m2.scorer is not None


def test_cli_train_simr_reports_bad_data(tmp_path):
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app

    _load_commands()
    res = CliRunner().invoke(app, ["train", "simr", "--data", str(tmp_path / "missing"), "--run-dir",
                                   str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 2
    assert "not found" in res.output
    res = CliRunner().invoke(app, ["train", "simr", "--help"])
    assert res.exit_code == 0 and "--prior" in res.output
