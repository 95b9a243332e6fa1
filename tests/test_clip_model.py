"""CLIP loading, the text path on token embeddings, and bad input, with a tiny random CLIP + real vocabulary."""

from __future__ import annotations

import json
import sys

import pytest
import torch

pytest.importorskip("transformers")

from _clip_tiny import make_tiny_clip  # noqa: E402

from exposurekit.guidance import ClipGuide, ClipLoadError, PromptLearner, clip_preprocess, load_clip  # noqa: E402


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory, shared_weights):
    return make_tiny_clip(tmp_path_factory.mktemp("tiny_clip"), shared_weights / "clip_tokenizer")


@pytest.fixture(scope="module")
def guide(tiny_clip):
    return ClipGuide.from_pretrained(tiny_clip)


def test_load_from_folder_is_frozen_with_real_vocabulary(guide):
    assert len(guide.tokenizer) == 49408
    assert guide.dim == 16 and guide.image_size == 32
    assert not any(p.requires_grad for p in guide.parameters())
    ids = guide.tokenize(["a photo"])
    assert ids[0].tolist() == [49406, 320, 1125, 49407]  # real BPE ids of the CLIP vocabulary


def test_text_path_on_embeddings_equals_get_text_features(guide):
    texts = ["a backlit photo of a person", "well-lit", "X X X X X X X X X X X X X X X X."]
    ids = guide.tokenize(texts)
    ref = guide.model.get_text_features(input_ids=ids)
    ref = ref if isinstance(ref, torch.Tensor) else ref.pooler_output
    ours = guide.encode_text_embeddings(guide.token_embedding(ids), guide.end_positions(ids))
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(guide.encode_text(texts), ref, atol=1e-5)


def test_prompt_learner_starts_at_the_x_prompt_and_gets_gradients(guide):
    pl = PromptLearner(guide, n_tokens=16)
    assert pl.ctx.shape == (2, 16, 32)
    ref = guide.encode_text(["X X X X X X X X X X X X X X X X."])
    assert torch.allclose(pl()[0], ref[0], atol=1e-5)
    pl()[:, 0].sum().backward()
    assert pl.ctx.grad is not None and pl.ctx.grad.abs().sum() > 0
    assert [n for n, _ in pl.named_parameters()] == ["ctx"]  # CLIP itself is not a trainable part


def test_preprocessing_is_differentiable_and_uses_clip_stats():
    x = torch.full((1, 3, 50, 70), 0.5, requires_grad=True)
    y = clip_preprocess(x, 224)
    assert y.shape == (1, 3, 224, 224)
    assert torch.allclose(y[0, :, 0, 0], (0.5 - torch.tensor([0.48145466, 0.4578275, 0.40821073]))
                          / torch.tensor([0.26862954, 0.26130258, 0.27577711]), atol=1e-5)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_image_embedding_gradient_reaches_pixels(guide):
    x = torch.rand(2, 3, 40, 48, requires_grad=True)
    guide.encode_image(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert len(guide.feature_maps(torch.rand(1, 3, 32, 32))) == 5


def test_missing_extra_gives_one_line(monkeypatch, tiny_clip):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install exposurekit\[clip\]") as err:
        load_clip(tiny_clip)
    assert "\n" not in str(err.value)


def test_unreadable_or_wrong_folders(tmp_path):
    with pytest.raises(ClipLoadError, match="not found"):
        load_clip(tmp_path / "nope")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ClipLoadError, match="not a folder"):
        load_clip(tmp_path / "file.bin")
    with pytest.raises(ClipLoadError, match="no config.json"):
        load_clip(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ClipLoadError, match="cannot load a CLIP model") as err:
        load_clip(tmp_path)
    assert "\n" not in str(err.value)


def test_tokenizer_without_vocabulary_is_refused(tmp_path, tiny_clip):
    import shutil

    folder = tmp_path / "novocab"
    shutil.copytree(tiny_clip, folder)
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        (folder / name).unlink(missing_ok=True)
    (folder / "vocab.json").write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(ClipLoadError, match="no vocabulary"):
        load_clip(folder)


def test_explain_residual_with_clip_lists_tokens_and_saves_shifted(tiny_clip, tmp_path, monkeypatch):
    from _clip_tiny import write_folders
    from typer.testing import CliRunner

    from exposurekit.cli.main import _load_commands, app
    from exposurekit.models.serialization import load_state

    monkeypatch.setenv("EXPOSUREKIT_CACHE", str(tmp_path / "cache"))
    b, w = write_folders(tmp_path / "data", n=3, size=24)
    _load_commands()
    res = CliRunner().invoke(app, ["explain-residual", "-b", str(b), "-w", str(w), "-e", f"clip:{tiny_clip}",
                                   "-o", str(tmp_path / "ex"), "-k", "5"])
    assert res.exit_code == 0, res.output
    assert "nearest" in res.output and "49408" in res.output
    state, meta = load_state(tmp_path / "ex" / "shifted_residual.safetensors")
    v, v0 = state["v_res"], state["v_res_original"]
    assert v.shape == v0.shape == (16,) and abs(float(v.norm()) - 1) < 1e-5
    assert float(v @ v0) < 0.999 and meta["top_k"] == 5
