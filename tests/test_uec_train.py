"""UEC training: the loss falls, fit() writes weights + a default target, resume, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from exposurekit.methods.uec import TRAIN_DEFAULTS, UECMethod, expose, uec_losses
from exposurekit.models.uec import UEC


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _pair_batch(n: int = 4, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    base = torch.rand(2 * n, 3, size, size, generator=g) * 0.6 + 0.2
    dark, bright = expose(base, -1.5), expose(base, 1.0)
    return {"x": dark[:n], "y": bright[:n], "jd": dark[n:], "jb": bright[n:]}


def test_short_training_loss_falls():
    torch.manual_seed(0)
    net = UEC(height=32)
    batch = _pair_batch()
    extra = {**TRAIN_DEFAULTS, "table_size": 9}
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        terms = uec_losses(net, batch, extra)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"]))
    assert set(terms) >= {"loss", "restoration", "monotonic", "tv"}
    assert losses[-1] < 0.5 * losses[0], losses[::8]
    # it learned to brighten: the dark input moves towards the bright reference
    with torch.no_grad():
        out = net(batch["x"], ref=batch["y"])
    assert float(out.mean()) > float(batch["x"].mean()) + 0.05


def _write_sequences(root, scenes: int = 6, size: int = 72) -> None:
    rng = np.random.default_rng(0)
    for s in range(scenes):
        d = root / f"scene{s}"
        d.mkdir(parents=True)
        base = torch.from_numpy(rng.random((1, 3, 9, 9)).astype(np.float32))
        base = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear") * 0.7 + 0.15
        for ev in (-1.0, 0.0, 1.0):
            a = (expose(base, ev)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(a).save(d / f"ev{ev:+.1f}.png")
    (root / "manifest.json").write_text(json.dumps({"dataset": "toy"}))


def test_fit_writes_weights_target_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPOSUREKIT_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "seqs"
    _write_sequences(data)
    run = tmp_path / "run"
    m = UECMethod(height=48, lut_size=9, table_size=9)
    extra = {"side": 48, "table_size": 9, "probe_pairs": 2, "target_refs": 3}
    res = m.fit(data, run_dir=run, epochs=1, steps_per_epoch=3, batch_size=2, crop=48, progress=False,
                extra=extra)
    assert len(res.history) == 1 and np.isfinite(res.history[0]["loss"])
    for f in ("last.pt", "history.json", "losses.png", "config.yaml", "uec.safetensors"):
        assert (run / f).is_file(), f
    assert res.extra["references"] == 3
    assert m.target_features.abs().sum() > 0
    with pytest.raises(FileExistsError):
        UECMethod(height=48).fit(data, run_dir=run, epochs=2, progress=False, extra=extra)
    m2 = UECMethod(height=48, lut_size=9, table_size=9)
    res2 = m2.fit(data, run_dir=run, epochs=2, steps_per_epoch=2, batch_size=2, crop=48, progress=False,
                  resume=True, extra=extra)
    assert [h["epoch"] for h in res2.history] == [0.0, 1.0]
    loaded = UECMethod(height=48, lut_size=9, table_size=9).load_weights(run / "uec.safetensors")
    x = torch.rand(1, 3, 40, 40)
    torch.testing.assert_close(loaded.correct(x), m2.correct(x), atol=0, rtol=0)


def test_fit_rejects_unknown_settings(tmp_path):
    with pytest.raises(ValueError, match="unknown UEC setting"):
        UECMethod(height=32).fit(tmp_path, run_dir=tmp_path / "r", extra={"tv_weigth": 0.0}, progress=False)


def test_cli_train_uec_registered():
    from typer.testing import CliRunner

    from exposurekit.cli.app import app
    from exposurekit.cli.main import _load_commands

    _load_commands()
    out = CliRunner().invoke(app, ["train", "uec", "--help"])
    assert out.exit_code == 0, out.output
    assert "--data" in out.output and "--resume" in out.output and "--config" in out.output


def test_dataset_balance_reweights_scenes():
    from exposurekit.methods.uec import _Pool

    names = [f"sice/{i}" for i in range(8)] + ["mef/a", "mef/b"]
    pool = _Pool([None] * len(names), [], names)
    by_scene, by_dataset = pool.scene_probs(1.0), pool.scene_probs(0.0)
    assert np.allclose(by_scene, 0.1)  # every scene equally likely
    assert np.isclose(by_dataset[:8].sum(), 0.5) and np.isclose(by_dataset[8:].sum(), 0.5)
    half = pool.scene_probs(0.5)  # datasets ∝ sqrt(scenes): sice 2√2 : mef √2
    assert np.isclose(half[:8].sum() / half[8:].sum(), 2.0)
