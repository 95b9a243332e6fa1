"""The shared Trainer: loss falls, checkpoint + resume, history and plot, config precedence."""

from __future__ import annotations

import json

import pytest
import torch

from exposurekit.train import Trainer, load_config


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    return x, y


def test_fit_resume_and_logs(tmp_path):
    x, y = _problem()
    net = torch.nn.Linear(3, 1)
    step = lambda b, e: {"loss": ((net(b[0]).squeeze(1) - b[1]) ** 2).mean()}  # noqa: E731
    t = Trainer({"net": net}, torch.optim.Adam(net.parameters(), 0.05), tmp_path, load_config(epochs=2), progress=False)
    r = t.fit(step, lambda e: [(x, y)] * 10)
    assert len(r.history) == 2 and r.history[1]["loss"] < r.history[0]["loss"]
    assert (tmp_path / "last.pt").exists() and (tmp_path / "losses.png").exists()
    assert (tmp_path / "config.yaml").read_text().startswith("epochs: 2")
    # resume: a new trainer continues from epoch 2, keeping the history
    net2 = torch.nn.Linear(3, 1)
    step2 = lambda b, e: {"loss": ((net2(b[0]).squeeze(1) - b[1]) ** 2).mean()}  # noqa: E731
    t2 = Trainer({"net": net2}, torch.optim.Adam(net2.parameters(), 0.05), tmp_path, load_config(epochs=4), progress=False)
    r2 = t2.fit(step2, lambda e: [(x, y)] * 10)
    assert t2.start_epoch == 2 and len(r2.history) == 4
    assert [h["epoch"] for h in json.loads((tmp_path / "history.json").read_text())] == [0, 1, 2, 3]
    assert r2.history[3]["loss"] < r.history[1]["loss"]


def test_non_finite_loss_raises(tmp_path):
    net = torch.nn.Linear(1, 1)
    t = Trainer({"net": net}, torch.optim.SGD(net.parameters(), 0.1), tmp_path, load_config(epochs=1), progress=False)
    with pytest.raises(FloatingPointError, match="non-finite"):
        t.fit(lambda b, e: {"loss": net(b).sum() * float("nan")}, lambda e: [torch.ones(1, 1)])


def test_config_precedence(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: 7\nlr: 0.5\nextra: {a: 1}\n")
    cfg = load_config(path=tmp_path / "c.yaml", lr=0.1, epochs=None, extra={"b": 2})
    assert (cfg.epochs, cfg.lr, cfg.extra) == (7, 0.1, {"a": 1, "b": 2})
    with pytest.raises(ValueError, match="unknown training setting"):
        load_config(bogus=1)
