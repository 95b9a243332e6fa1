"""Every semantic-prior backend's loading path: superpixels, a tiny FastSAM-style ONNX export, a tiny SamModel."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from exposurekit.priors import PriorError, build_prior, region_stats
from exposurekit.priors.fastsam import FastSAMPrior, decode_masks, export_random_fastsam, letterbox, nms
from exposurekit.priors.superpixels import SuperpixelPrior


def _two_tone(h=60, w=90):
    x = torch.zeros(1, 3, h, w)
    x[:, 0, :, : w // 2] = 0.9  # red left half
    x[:, 2, :, w // 2:] = 0.8  # blue right half
    return x


# ---------------------------------------------------------------- superpixels
def test_superpixels_shapes_and_regions_at_odd_size():
    prior = SuperpixelPrior(levels=(24, 6))
    out = prior(_two_tone(61, 97), scales=(1, 4))
    assert [f.shape for f in out.features] == [(1, 16, 61, 97), (1, 16, 16, 25)]
    assert out.masks.shape == (1, 61, 97) and out.masks.dtype == torch.int64
    left, right = out.masks[0, :, :40], out.masks[0, :, 60:]
    assert set(left.unique().tolist()).isdisjoint(right.unique().tolist())  # no region spans both colours
    f = prior.extract(_two_tone())[0]
    assert f[0, 2, 5, 5] > f[0, 2, 5, 80] + 0.5  # mean b* (yellow-blue) differs between halves


def test_superpixels_felzenszwalb_and_bad_method():
    out = SuperpixelPrior(method="felzenszwalb", levels=(50,))(_two_tone())
    assert out.features[0].shape[1] == 8 and out.num_regions[0] >= 2
    with pytest.raises(ValueError, match="slic"):
        SuperpixelPrior(method="watershed")


def test_region_stats_means_and_variances():
    v = torch.tensor([1.0, 3.0, 5.0, 5.0]).view(1, 1, 2, 2)
    lab = torch.tensor([0, 0, 1, 1]).view(1, 2, 2)
    mean, var, cnt = region_stats(v, lab, 3)
    assert mean[0, :, 0].tolist() == [2.0, 5.0, 0.0]
    assert var[0, :, 0].tolist() == [1.0, 0.0, 0.0]
    assert cnt[0].tolist() == [2.0, 2.0, 0.0]


# ---------------------------------------------------------------- FastSAM (ONNX)
def _export_tiny_fastsam(path, size=1024):
    """A tiny random model with FastSAM's ONNX I/O, written at test time with the onnx helper API."""
    return export_random_fastsam(path, size)


def test_fastsam_tiny_onnx_export_runs(tmp_path):
    path = _export_tiny_fastsam(tmp_path / "fastsam-tiny.onnx")
    prior = build_prior("fastsam", path, threads=1)
    assert isinstance(prior, FastSAMPrior) and prior.input_size == 1024 and prior.channels == 32
    x = torch.rand(2, 3, 77, 121)
    out = prior(x, scales=(1, 8))
    assert [f.shape for f in out.features] == [(2, 32, 77, 121), (2, 32, 10, 16)]
    assert out.masks.shape == (2, 77, 121) and out.masks.min() >= 0
    feats, _ = prior.extract(x)
    assert feats.shape[1] == 32 and torch.isfinite(feats).all()


def test_fastsam_decoding_with_our_nms():
    p = 8  # prototypes 8x8 at input 32
    protos = np.full((1, 32, p, p), -1.0, dtype=np.float32)
    protos[0, 0] = 1.0  # coefficient 0 switches every pixel on; the box crop decides the mask
    det = np.zeros((1, 37, 3), dtype=np.float32)
    det[0, :5, 0] = [8, 8, 16, 16, 0.9]  # box (0,0)-(16,16)
    det[0, :5, 1] = [9, 9, 16, 16, 0.8]  # overlaps box 0 with IoU > 0.7 -> suppressed
    det[0, :5, 2] = [24, 24, 8, 8, 0.7]  # box (20,20)-(28,28)
    det[0, 5, :] = 5.0
    labels = decode_masks(det, protos, conf=0.25, iou=0.7, input_size=32)
    assert labels.shape == (p, p)
    assert set(np.unique(labels).tolist()) == {0, 1, 2}
    assert (labels[:4, :4] == 1).all() and (labels[5:7, 5:7] == 2).all() and labels[0, 7] == 0
    assert nms(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.0]]), np.array([0.9, 0.8, 0.7]), 0.7) == [0, 2]


def test_letterbox_pads_with_114():
    img, scale, (top, left), (nh, nw) = letterbox(torch.ones(1, 3, 50, 100), 64)
    assert img.shape == (1, 3, 64, 64) and (nh, nw) == (32, 64) and (top, left) == (16, 0)
    assert torch.allclose(img[0, :, 0, 0], torch.full((3,), 114 / 255)) and img[0, 0, 32, 32] == 1


def test_fastsam_missing_or_invalid_file(tmp_path):
    with pytest.raises(PriorError, match="not found.*images"):
        FastSAMPrior(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(PriorError, match="not a loadable ONNX model"):
        FastSAMPrior(bad)
    with pytest.raises(PriorError, match="--prior-path"):
        build_prior("fastsam")


def test_fastsam_missing_onnxruntime(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(PriorError, match=r"pip install exposurekit\[onnx\]"):
        FastSAMPrior(tmp_path / "x.onnx")


# ---------------------------------------------------------------- SAM (transformers)
def _tiny_sam(folder):
    from transformers import SamConfig, SamModel

    cfg = SamConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           image_size=128, patch_size=16, output_channels=16, window_size=4,
                           global_attn_indexes=[1], mlp_dim=64),
        prompt_encoder_config=dict(hidden_size=16, image_size=128, patch_size=16, image_embedding_size=8),
        mask_decoder_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, mlp_dim=32,
                                 iou_head_hidden_dim=16))
    torch.manual_seed(0)
    SamModel(cfg).save_pretrained(folder)
    return folder


def test_sam_tiny_random_model_save_load(tmp_path):
    folder = _tiny_sam(tmp_path / "sam-tiny")
    prior = build_prior("sam", folder, regions=4)
    assert prior.channels == 16 and prior.image_size == 128
    x = torch.rand(1, 3, 70, 130)
    out = prior(x, scales=(2,))
    assert out.features[0].shape == (1, 16, 35, 65)
    assert out.masks.shape == (1, 70, 130) and 1 <= out.num_regions[0] <= 4
    feats, _ = prior.extract(x)
    assert feats.shape[-2:] == (4, 8)  # 8x8 embedding cropped to the un-padded 70x130 -> 128x69 area


def test_sam_missing_folder(tmp_path):
    with pytest.raises(PriorError, match="cannot load a SamModel"):
        build_prior("sam", tmp_path / "missing")


def test_unknown_prior():
    with pytest.raises(ValueError, match="unknown prior"):
        build_prior("segformer")
    assert build_prior("none") is None
