"""LoopExpose training (nested loop, any sequence length), fusion mode, and the `fuse` CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from typer.testing import CliRunner

from exposurekit.cli.app import app
from exposurekit.cli.main import _load_commands
from exposurekit.fusion import mertens_fusion
from exposurekit.losses import ssim_loss
from exposurekit.methods.loopexpose import LoopExpose, LoopExposeTrainConfig, lr_factor, pseudo_label

_load_commands()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread avoids OpenMP spin-waiting on a shared machine (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _sequence(n: int, h: int = 24, w: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    scene = F.interpolate(torch.rand(1, 3, 6, 8, generator=g), size=(h, w), mode="bilinear", align_corners=False)
    gains = torch.logspace(-2, 1.2, n, base=2.0).view(n, 1, 1, 1)
    return (scene * gains).clamp(0, 1)


def _objective(model: torch.nn.Module, seqs: list[torch.Tensor]) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for s in seqs:
            label = mertens_fusion(s)
            out = model(s).image
            total += float(F.l1_loss(out, label.expand_as(out)) + 0.5 * ssim_loss(out, label.expand_as(out)))
    return total / len(seqs)


def test_short_training_run_loss_falls_any_length(tmp_path):
    seqs = [_sequence(2, seed=1), _sequence(3, seed=2), _sequence(5, seed=3)]
    m = LoopExpose(low_res=64)  # the documented 256² low-resolution branch is too slow for the suite
    before = _objective(m.model, seqs)
    cfg = LoopExposeTrainConfig(epochs=2, label_switch_epoch=1, lr=3e-3, long_side=None, val_scenes=0)
    result = m.fit(seqs, run_dir=tmp_path / "run", config=cfg, progress=False)
    after = _objective(m.model, seqs)
    assert len(result.history) == 2 and all(np.isfinite(h["loss"]) for h in result.history)
    assert after < 0.9 * before, (before, after)
    assert result.extra["n_sequences"] == 3 and result.extra["n_frames"] == 10
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "losses.png").is_file()
    # resume continues after the last finished epoch
    cfg3 = LoopExposeTrainConfig(epochs=3, label_switch_epoch=1, lr=3e-3, long_side=None, val_scenes=0)
    result4 = LoopExpose(low_res=64).fit(seqs, run_dir=tmp_path / "run", config=cfg3, progress=False)
    assert [h["epoch"] for h in result4.history] == [0.0, 1.0, 2.0]


def test_pseudo_label_uses_eval_mode_and_restores_train_mode():
    m = LoopExpose(low_res=64)
    with torch.no_grad():
        m.model.head.weight.normal_(0, 0.05)
    m.model.train()
    x = _sequence(3)
    a, b = pseudo_label(m.model, x), pseudo_label(m.model, x)
    assert m.model.training
    assert torch.equal(a, b)  # dropout off while labelling
    assert a.shape == (1, 3, 24, 32) and 0 <= a.min() and a.max() <= 1


def test_first_stage_label_is_mertens_of_inputs():
    x = _sequence(4)
    assert torch.equal(pseudo_label(None, x), mertens_fusion(x))


def test_lr_schedule_documented_shape():
    cfg = LoopExposeTrainConfig()
    assert cfg.switch_epoch() == 10 and cfg.cosine_epoch() == 30
    f = [lr_factor(e, cfg) for e in range(40)]
    assert f[0] == 1.0 and abs(f[9] - 0.1) < 1e-9 and f[10] == 1.0 and f[29] == 1.0
    assert all(a >= b for a, b in zip(f[30:], f[31:])) and abs(f[39] - 0.02) < 1e-9


def test_held_out_brackets_are_never_trained_on(tmp_path):
    from exposurekit.data.brackets import Bracket
    from exposurekit.data.splits import is_held_out
    from exposurekit.methods.loopexpose import _training_sequences

    assert is_held_out("mef", "BelgiumHouse") and not is_held_out("mef", "Venice")
    frames = []
    for i, v in enumerate((40, 120, 200)):
        p = tmp_path / f"f{i}.png"
        Image.fromarray(np.full((16, 20, 3), v, np.uint8)).save(p)
        frames.append(p)
    bs = [Bracket("mef", "Venice", frames), Bracket("mef", "BelgiumHouse", frames)]
    train, val = _training_sequences(bs, LoopExposeTrainConfig(long_side=None, val_scenes=4))
    assert len(train) == 1 and len(val) == 1 and train[0].shape == (3, 3, 16, 20)


def test_perceptual_term_refused():
    with pytest.raises(ValueError, match="VGG19"):
        LoopExpose().fit([_sequence(2)], config=LoopExposeTrainConfig(perceptual_weight=0.01))


@pytest.mark.parametrize("n", [1, 2, 4])
def test_fusion_method_any_length(n):
    from exposurekit.methods.registry import load_method

    with pytest.warns(UserWarning) if not _shipped() else _nullcontext():
        m = load_method("loopexpose-fusion")
    out = m.fuse(_sequence(n, 20, 28))
    assert out.shape == (1, 3, 20, 28) and 0 <= out.min() and out.max() <= 1


def _shipped() -> bool:
    from exposurekit.methods.base import WEIGHTS_DIR

    return (WEIGHTS_DIR / "loopexpose.safetensors").exists()


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture()
def bracket_dir(tmp_path):
    seq = (_sequence(3, 30, 44).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    d = tmp_path / "seq"
    d.mkdir()
    for i, f in enumerate(seq):
        Image.fromarray(f).save(d / f"frame{i}.png")
    return d


def test_fuse_cli_mertens(bracket_dir, tmp_path):
    out = tmp_path / "o" / "fused.png"
    res = runner.invoke(app, ["fuse", str(bracket_dir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    img = np.asarray(Image.open(out))
    assert img.shape == (30, 44, 3)
    frames = torch.stack([torch.from_numpy(np.asarray(Image.open(p))).permute(2, 0, 1).float() / 255
                          for p in sorted(bracket_dir.iterdir())])
    expected = (mertens_fusion(frames)[0].permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(img.astype(float) - expected).max() <= 1


def test_fuse_cli_loopexpose_and_errors(bracket_dir, tmp_path):
    res = runner.invoke(app, ["fuse", str(bracket_dir), "-o", str(tmp_path / "le.png"), "--method", "loopexpose"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "le.png").is_file()
    res = runner.invoke(app, ["fuse", str(tmp_path / "missing"), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(bracket_dir / "odd.png")
    res = runner.invoke(app, ["fuse", str(bracket_dir), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "differ in size" in res.output


def test_fuse_cli_real_mef_bracket(shared_data, tmp_path):
    out = tmp_path / "venice.png"
    res = runner.invoke(app, ["fuse", str(shared_data / "mef_ma_database" / "Venice"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert np.asarray(Image.open(out)).shape == (341, 512, 3)
