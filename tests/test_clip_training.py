"""Short training runs of each guidance mode (loss falls), refusals, save/load, CLI, explain-residual."""

from __future__ import annotations

import warnings

import pytest
import torch
from _clip_tiny import write_folders

from exposurekit.methods.registry import load_method

FAST = {"crop": 32, "batch_size": 4, "lr": 1e-4, "threads": 1}


def _method(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_method(name)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return write_folders(tmp_path_factory.mktemp("clipdata"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPOSUREKIT_CACHE", str(tmp_path / "cache"))


def _rows(history, key):
    return [h[key] for h in history if key in h]


def test_rave_loss_falls_and_output_brightens(folders, tmp_path):
    b, w = folders
    m = _method("rave")
    r = m.fit(b, w, run_dir=tmp_path / "run", progress=False, **FAST,
              extra={"steps": 30, "log_every": 15, "embed_side": 32, "warmup_steps": 2})
    guide = _rows(r.history, "guide")
    assert len(guide) == 2 and guide[-1] < 0.8 * guide[0]
    assert r.extra["val_guide_end"] < 0.5 * r.extra["val_guide_start"]  # on fixed images, before vs after
    from exposurekit.guidance import load_image_set

    dark = load_image_set([b], 32, "backlit", use_cache=False).float()
    with torch.no_grad():
        assert m.correct(dark)[..., 12:20, 12:20].mean() > dark[..., 12:20, 12:20].mean() + 0.02  # the subject
    assert (tmp_path / "run" / "losses.png").is_file() and (tmp_path / "run" / "last.pt").is_file()
    assert set(m.guidance_state) == {"v_res", "v_pos", "v_neg"} and "thr" in m.meta
    # save / load round trip through the registry, and correction of an odd-sized batch
    path = m.save_weights(tmp_path / "rave.safetensors")
    m2 = load_method("rave", weights=path)
    x = torch.rand(2, 3, 21, 13) * 0.3
    assert torch.allclose(m.correct(x), m2.correct(x))
    assert m2.encoder_spec == "exposure" and torch.allclose(m2.guidance_state["v_res"], m.guidance_state["v_res"])


def test_cliplit_latent_rounds_losses_fall(folders, tmp_path):
    b, w = folders
    m = _method("cliplit-latent")
    m.model.reset_parameters()  # start from the identity network, not from the shipped weights
    r = m.fit(b, w, run_dir=tmp_path / "run", progress=False, **FAST,
              extra={"init_steps": 20, "rounds": 2, "enhance_steps": 20, "prompt_steps": 5, "log_every": 10,
                     "embed_side": 32, "prompt_lr": 5e-2, "scale": 10.0})
    ce = _rows(r.history, "ce")
    assert ce[-1] < ce[0]
    guide = _rows(r.history, "guide")  # P(backlit | output), two rows per round
    assert guide[1] < guide[0]
    assert _rows(r.history, "rank")  # refinement ran, over inputs, references and earlier outputs
    assert m.guidance_state["vectors"].shape == (2, 35)


def test_cliplit_prompts_end_to_end_with_tiny_clip(folders, tmp_path, shared_weights):
    pytest.importorskip("transformers")
    from _clip_tiny import make_tiny_clip

    clip_dir = make_tiny_clip(tmp_path / "clip", shared_weights / "clip_tokenizer")
    b, w = folders
    m = _method("cliplit")
    r = m.fit(b, w, run_dir=tmp_path / "run", encoder=f"clip:{clip_dir}", progress=False, **FAST,
              extra={"init_steps": 20, "rounds": 1, "enhance_steps": 20, "prompt_steps": 6, "log_every": 10,
                     "embed_side": 32, "prompt_lr": 1e-2, "identity": "clip", "n_tokens": 4})
    ce = _rows(r.history, "ce")
    assert ce[-1] < ce[0]
    guide = _rows(r.history, "guide")
    assert guide[-1] < guide[0]
    assert m.guidance_state["ctx"].shape == (2, 4, 32)


def test_refusals(folders, tmp_path):
    b, w = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    m = _method("rave")
    with pytest.raises(ValueError, match="holds no images"):
        m.fit(empty, w, run_dir=tmp_path / "r1", progress=False, **FAST)
    with pytest.raises(ValueError, match="not found"):
        m.fit(tmp_path / "missing", w, run_dir=tmp_path / "r2", progress=False, **FAST)
    with pytest.raises(ValueError, match="two different classes"):
        m.fit(b, b, run_dir=tmp_path / "r3", progress=False, **FAST)
    with pytest.raises(ValueError, match="needs a CLIP model"):
        _method("cliplit").fit(b, w, run_dir=tmp_path / "r4", progress=False, **FAST)


def test_cli_train_and_explain(folders, tmp_path):
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app

    _load_commands()
    b, w = folders
    runner = CliRunner()
    res = runner.invoke(app, ["train", "rave", "--backlit", str(b), "--well-lit", str(w), "--run-dir",
                              str(tmp_path / "run"), "--steps", "4", "--size", "32", "--quiet"])
    assert res.exit_code == 0, res.output
    weights = tmp_path / "run" / "rave.safetensors"
    assert weights.is_file()
    res = runner.invoke(app, ["explain-residual", "--weights", str(weights), "-o", str(tmp_path / "ex")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ex" / "residual_exposure.png").is_file() and "hist[" in res.output
    res = runner.invoke(app, ["train", "rave", "--backlit", str(b), "--well-lit", str(b), "-q"])
    assert res.exit_code == 2 and "two different classes" in " ".join(res.output.split())


def test_resume_continues_the_schedule(folders, tmp_path):
    b, w = folders
    extra = {"steps": 6, "log_every": 6, "embed_side": 32}
    _method("rave").fit(b, w, run_dir=tmp_path / "run", progress=False, **FAST, extra=extra)
    r = _method("rave").fit(b, w, run_dir=tmp_path / "run", progress=False, **FAST, extra={**extra, "steps": 12})
    assert [h["epoch"] for h in r.history] == [0.0, 1.0]  # the first chunk came from last.pt


def test_keep_inputs_teach_the_network_to_leave_bright_photos_alone(folders, tmp_path):
    """``keep_frac``: well-lit photos, over-exposed by a random EV, trained with the identity loss only."""
    from exposurekit.guidance import load_image_set
    from exposurekit.ops.color import expose as _expose

    b, w = folders
    extra = {"steps": 40, "log_every": 20, "embed_side": 32, "keep_best": False}
    off = _method("rave")
    r_off = off.fit(b, w, run_dir=tmp_path / "off", progress=False, **FAST, extra=extra)
    on = _method("rave")
    r_on = on.fit(b, w, run_dir=tmp_path / "on", progress=False, **FAST,
                  extra={**extra, "keep_frac": 1.0, "keep_ev": [0.5, 1.5], "w_keep": 200.0})
    assert "keep" not in r_off.history[0] and len(_rows(r_on.history, "keep")) == 2
    assert on.meta["keep_frac"] == 1.0 and on.meta["n_keep"] == 6 and off.meta["n_keep"] == 0
    bright = _expose(load_image_set([w], 32, "well-lit", use_cache=False).float(), torch.ones(6))
    with torch.no_grad():
        change_off = (off.correct(bright) - bright).abs().mean()
        change_on = (on.correct(bright) - bright).abs().mean()
    assert change_on < 0.7 * change_off  # without the keep term the over-exposed photos are changed more
    with pytest.raises(ValueError, match="backlit and keep sets share"):
        _method("rave").fit(b, w, run_dir=tmp_path / "bad", progress=False, **FAST,
                            extra={**extra, "keep_frac": 0.5, "keep_dirs": [str(b)]})


def test_expose_and_hinge():
    from exposurekit.methods.clip_guided import _hinge
    from exposurekit.ops.color import expose as _expose

    x = torch.full((2, 3, 4, 4), 0.5)
    y = _expose(x, torch.tensor([0.0, 1.0]))
    assert torch.allclose(y[0], x[0], atol=1e-5) and (y[1] > 0.6).all() and y.max() <= 1
    assert _expose(torch.full((1, 3, 2, 2), 0.9), torch.tensor([3.0])).gt(0.999).all()  # highlights clip
    p = torch.tensor([0.05, 0.3, 0.9])
    assert torch.equal(_hinge(p, 0.0), p)
    assert torch.allclose(_hinge(p, 0.2), torch.tensor([0.0, 0.1, 0.7]))


def test_cliplit_latent_p_floor_stops_the_guidance(folders, tmp_path):
    b, w = folders
    m = _method("cliplit-latent")
    r = m.fit(b, w, run_dir=tmp_path / "run", progress=False, **FAST,
              extra={"init_steps": 10, "rounds": 1, "enhance_steps": 10, "prompt_steps": 2, "log_every": 10,
                     "embed_side": 32, "scale": 10.0, "p_floor": 1.0})
    assert _rows(r.history, "guide") == [0.0]  # P(backlit) never exceeds 1: no guidance at all


def test_cli_keep_options(folders, tmp_path):
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app

    _load_commands()
    b, w = folders
    res = CliRunner().invoke(app, ["train", "rave", "--backlit", str(b), "--well-lit", str(w), "--run-dir",
                                   str(tmp_path / "run"), "--steps", "4", "--size", "32", "--quiet",
                                   "--keep", str(w), "--keep-frac", "0.5"])
    assert res.exit_code == 0, res.output
    m = load_method("rave", weights=tmp_path / "run" / "rave.safetensors")
    assert m.meta["keep_frac"] == 0.5 and m.meta["n_keep"] == 6
