"""Torch datasets: identical crops/flips for pairs, cross-scene references in EV order, whole sequences,
held-out filtering and determinism with workers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from exposurekit.data.brackets import Bracket, load_brackets, shared_brackets
from exposurekit.data.sequences import (
    ExposurePairDataset,
    ReferencePairDataset,
    SequenceDataset,
    make_loader,
    select_brackets,
)

GAINS = (0.25, 0.5, 1.0)  # frame k = base * GAINS[k] (exact in 8 bit when base values are multiples of 4)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture()
def scaled_brackets(tmp_path: Path) -> list[Bracket]:
    """Four scenes; each frame is the same random texture times a gain, so frames differ only in exposure."""
    rng = np.random.default_rng(0)
    out = []
    for s in range(4):
        base = rng.integers(1, 64, size=(40, 52, 3)) * 4  # 4..252, multiples of 4
        d = tmp_path / f"scene{s}"
        d.mkdir()
        frames = []
        for g in GAINS:
            p = d / f"ev{math.log2(g) + 0.0:+g}.png"
            Image.fromarray((base * g).round().astype(np.uint8)).save(p)
            frames.append(p)
        out.append(Bracket("toy", f"scene{s}", frames, [math.log2(g) for g in GAINS]))
    return out


def test_pairs_share_crop_and_flip(scaled_brackets):
    ds = ExposurePairDataset(scaled_brackets, split="all", crop=16, flip=True, pairs_per_scene=8, seed=1)
    assert len(ds) == 32
    flips = set()
    for i in range(len(ds)):
        it = ds[i]
        assert it["input"].shape == it["target"].shape == (3, 16, 16)
        ratio = 2.0 ** (it["target_ev"] - it["input_ev"])
        # identical crop and flips: target == input * ratio pixel for pixel (8-bit exact by construction)
        assert torch.allclose(it["input"] * ratio, it["target"], atol=1.5 / 255), i
        assert it["input_index"] != it["target_index"]
        flips.add(float(it["input"][0, 0, 0]))
    assert len(flips) > 4  # crops move around


def test_pair_options(scaled_brackets):
    ds = ExposurePairDataset(scaled_brackets, split="all", crop=None, order="dark_first", pairs_per_scene=6)
    for i in range(len(ds)):
        it = ds[i]
        assert it["input_ev"] < it["target_ev"] and it["input"].shape == (3, 40, 52)
    mid = ExposurePairDataset(scaled_brackets, split="all", crop=8, target="middle")
    assert all(mid[i]["target_ev"] == 0.0 for i in range(len(mid)))
    big = ExposurePairDataset(scaled_brackets, split="all", crop=64)  # larger than the frames: enlarged
    assert big[0]["input"].shape == (3, 64, 64)
    sq = ExposurePairDataset(scaled_brackets, split="all", crop=None, size=(24, 24))
    assert sq[0]["input"].shape == (3, 24, 24)
    with pytest.raises(ValueError):
        ExposurePairDataset(scaled_brackets, split="all", target="brightest")


def test_cross_scene_references_in_ev_order(scaled_brackets):
    ds = ExposurePairDataset(scaled_brackets, split="all", crop=16, references=True, pairs_per_scene=5)
    for i in range(len(ds)):
        it = ds[i]
        assert it["ref_scene"] != f"toy/{it['scene']}"
        assert it["ref_dark_ev"] < it["ref_bright_ev"]
        assert it["ref_dark"].shape == it["input"].shape
        assert float(it["ref_dark"].mean()) < float(it["ref_bright"].mean())
    refs = ReferencePairDataset(scaled_brackets, split="all", crop=None)
    for i in range(len(refs)):
        it = refs[i]
        assert it["dark_ev"] < it["bright_ev"] and it["dark_index"] < it["bright_index"]


def test_sequences_any_length(scaled_brackets, tmp_path):
    extra = tmp_path / "long"
    extra.mkdir()
    frames = []
    for k in range(7):
        p = extra / f"f{k}.png"
        Image.fromarray(np.full((30, 20, 3), 20 + 30 * k, np.uint8)).save(p)
        frames.append(p)
    brackets = [*scaled_brackets, Bracket("toy", "long", frames)]
    ds = SequenceDataset(brackets, split="all", long_side=None)
    lengths = sorted(ds[i]["frames"].shape[0] for i in range(len(ds)))
    assert lengths == [3, 3, 3, 3, 7]
    it = ds[4]
    assert it["frames"].shape == (7, 3, 30, 20) and torch.isnan(it["evs"]).all()
    assert torch.all(it["luminance"][1:] > it["luminance"][:-1])
    capped = SequenceDataset(brackets, split="all", long_side=None, max_frames=4, crop=12, flip=True)
    x = capped[4]
    assert x["frames"].shape == (4, 3, 12, 12)
    assert torch.all(x["frames"].mean((1, 2, 3))[1:] > x["frames"].mean((1, 2, 3))[:-1])
    batches = list(make_loader(ds, batch_size=1, shuffle=True, seed=0))
    assert len(batches) == 5 and all(b["frames"].ndim == 4 for b in batches)


def test_determinism_seed_epoch_and_workers(scaled_brackets):
    def items(ds):
        return [torch.cat([ds[i]["input"], ds[i]["target"]]) for i in range(len(ds))]

    a = ExposurePairDataset(scaled_brackets, split="all", crop=16, seed=3, pairs_per_scene=2)
    b = ExposurePairDataset(scaled_brackets, split="all", crop=16, seed=3, pairs_per_scene=2)
    assert all(torch.equal(x, y) for x, y in zip(items(a), items(b), strict=True))
    b.set_epoch(1)
    assert not all(torch.equal(x, y) for x, y in zip(items(a), items(b), strict=True))
    l0 = [x["input"] for x in make_loader(a, batch_size=4, seed=5, num_workers=0)]
    l2 = [x["input"] for x in make_loader(a, batch_size=4, seed=5, num_workers=2)]
    assert all(torch.equal(x, y) for x, y in zip(l0, l2, strict=True))
    assert not make_loader(a, num_workers=0).pin_memory or torch.cuda.is_available()


def test_train_split_excludes_held_out(shared_data):
    mefb = load_brackets(shared_data / "mefb_100_pairs")
    train = select_brackets(mefb)
    held = select_brackets(mefb, "held_out")
    assert train and held and len(train) + len(held) == len(mefb)
    assert not any(b.held_out for b in train) and all(b.held_out for b in held)
    ds = ExposurePairDataset(mefb, crop=32, long_side=128, references=True)
    names = {b.scene for b in held}
    it = ds[0]
    assert it["scene"] not in names and it["ref_scene"].split("/")[1] not in names
    assert it["input"].shape == (3, 32, 32)


def test_real_sequences_from_shared(shared_data):
    bs = [b for b in shared_brackets(shared_data, datasets=("sice",)) if len(b.frames) >= 9][:3]
    ds = SequenceDataset(bs, split="all", long_side=64)
    for i in range(len(ds)):
        it = ds[i]
        assert it["frames"].shape[0] == len(bs[i].frames) and max(it["frames"].shape[-2:]) == 64
        m = it["frames"].mean((1, 2, 3))
        assert torch.all(m[1:] >= m[:-1] - 0.01)  # dark -> bright (thumbnail order vs full-frame means)
