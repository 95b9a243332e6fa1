"""Guidance losses on hand-made embeddings, the exposure embedding, and the identity loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from exposurekit.guidance import (
    ExposureEmbedding,
    IdentityLoss,
    LatentPrompts,
    backlit_probability,
    build_encoder,
    parse_encoder_spec,
    prompt_logits,
    ranking_loss,
    residual_loss,
    residual_vector,
    shift_residual,
)


def test_residual_vector_by_hand():
    well = torch.tensor([[2.0, 2.0], [1.0, 1.0]])  # both normalise to (1, 1)/√2
    back = torch.tensor([[3.0, 0.0]])
    r = residual_vector(well, back)
    s = 1 / math.sqrt(2)
    v = torch.tensor([s - 1, s]) / math.hypot(s - 1, s)
    assert torch.allclose(r.v_res, v, atol=1e-6)
    assert r.thr == pytest.approx(float(torch.tensor([s, s]) @ v), abs=1e-6)


def test_residual_loss_is_a_squared_projection_match():
    r = residual_vector(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]]))  # v_res = (-1, 1)/√2, thr = 1/√2
    emb = torch.tensor([[0.0, 5.0], [1.0, 0.0], [-1.0, 1.0]])
    loss = residual_loss(emb, r.v_res, r.thr)
    s = 1 / math.sqrt(2)
    assert torch.allclose(loss, torch.tensor([0.0, (-s - s) ** 2, (1 - s) ** 2]), atol=1e-6)
    # overshooting the target (cos = 1 > thr) is penalised too: not "maximise the cosine"
    assert loss[2] > 0


def test_residual_refuses_one_class():
    with pytest.raises(ValueError, match="same mean"):
        residual_vector(torch.ones(3, 4), torch.ones(2, 4) * 2)
    with pytest.raises(ValueError):
        residual_vector(torch.ones(0, 4), torch.ones(2, 4))


def test_shifted_residual_projects_tokens_out():
    v_res = F.normalize(torch.tensor([1.0, 1.0, 0.0]), dim=0)
    tokens = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.1, 0.0]])
    shifted, top, bottom = shift_residual(v_res, tokens, k=1)
    assert top.tolist() == [0] and bottom.tolist() == [2]
    n0, n2 = F.normalize(tokens[0], dim=0), F.normalize(tokens[2], dim=0)
    up = F.normalize(float(n0 @ v_res) * n0, dim=0)
    down = F.normalize(float(n2 @ v_res) * n2, dim=0)  # a negative score flips the token's direction
    remove = F.normalize(up + down, dim=0)
    expect = F.normalize(v_res - remove * (remove @ v_res), dim=0)
    assert torch.allclose(shifted, expect, atol=1e-6)
    assert float(shifted @ remove) == pytest.approx(0.0, abs=1e-6)


def test_prompt_probability_and_ranking_by_hand():
    vec = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # backlit, well-lit
    emb = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    logits = prompt_logits(emb, vec, scale=100.0)
    assert torch.allclose(logits[0], torch.tensor([100.0, 0.0]))
    p = backlit_probability(emb, vec, scale=1.0)
    assert torch.allclose(p, torch.tensor([1 / (1 + math.exp(-1)), 1 / (1 + math.e), 0.5]), atol=1e-6)
    a, b = torch.tensor([0.9, 0.2]), torch.tensor([0.1, 0.5])
    assert float(ranking_loss([(a, b, 0.5)])) == pytest.approx(((0.5 - 0.8) * 0 + (0.5 + 0.3)) / 2)
    assert float(ranking_loss([(a, b, 0.5), (a, b, 0.0)])) == pytest.approx(0.4 + 0.15)


def test_latent_vectors_learn_the_two_classes():
    torch.manual_seed(0)
    emb = torch.cat([torch.randn(16, 8) + 3 * torch.eye(8)[0], torch.randn(16, 8) + 3 * torch.eye(8)[1]])
    labels = torch.tensor([0] * 16 + [1] * 16)
    lat = LatentPrompts(8)
    opt = torch.optim.Adam(lat.parameters(), 5e-2)
    first = None
    for _ in range(60):
        loss = F.cross_entropy(prompt_logits(emb, lat(), 10.0), labels)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first
    assert (prompt_logits(emb, lat()).argmax(1) == labels).float().mean() > 0.9


def test_exposure_embedding_is_differentiable_and_sees_brightness():
    enc = ExposureEmbedding()
    dark = torch.rand(2, 3, 50, 30) * 0.2
    emb = enc(dark.requires_grad_())
    assert emb.shape == (2, enc.dim) == (2, len(enc.names))
    emb.sum().backward()
    assert torch.isfinite(dark.grad).all() and dark.grad.abs().sum() > 0
    hist = enc.groups()["hist"]
    with torch.no_grad():
        h_dark, h_bright = enc(dark)[0, hist] ** 2, enc(dark + 0.6)[0, hist] ** 2
    centres = enc.centres
    assert float(h_bright @ centres) > float(h_dark @ centres) + 0.4  # the histogram mean moved up


def test_identity_losses_zero_on_identity_and_grow_with_change():
    x = torch.rand(2, 3, 70, 70)
    for kind in ("pyramid", "msssim"):
        loss = IdentityLoss(kind)
        assert torch.allclose(loss(x, x), torch.zeros(2), atol=1e-6)
        small, big = loss(x * 0.9, x), loss(torch.rand_like(x), x)
        assert (small > 0).all() and (big > small).all()
    with pytest.raises(ValueError, match="unknown identity"):
        IdentityLoss("vgg")


def test_encoder_specs():
    assert parse_encoder_spec("exposure") == ("exposure", None)
    assert parse_encoder_spec("clip:/some/folder") == ("clip", "/some/folder")
    with pytest.raises(ValueError, match="expected one of"):
        parse_encoder_spec("resnet")
    with pytest.raises(ValueError, match="clip:PATH"):
        parse_encoder_spec("clip")
    enc = build_encoder("exposure")
    assert enc.cache_key.startswith("exposure") and not any(p.requires_grad for p in enc.parameters())
