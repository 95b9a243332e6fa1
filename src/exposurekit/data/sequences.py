"""Torch datasets over exposure brackets: same-scene pairs, cross-scene reference pairs, whole sequences.

All three take a list of :class:`~exposurekit.data.brackets.Bracket` (or a folder, loaded with
:func:`~exposurekit.data.brackets.load_brackets`) and by default keep only the **training** scenes of the
project-wide split (``split="train"``); pass ``split="held_out"`` for evaluation or ``"all"``.

Randomness (which frames, crop boxes, flips, which other scene) comes from a NumPy generator seeded with
``(seed, epoch, index)``, so an item is the same whatever the number of workers or the order of access;
call :meth:`set_epoch` each epoch for fresh draws. :func:`make_loader` builds a deterministic DataLoader
(seeded shuffling, ``pin_memory`` only when CUDA is available).

Item dicts (tensors are float32 in [0, 1]; EVs are ``nan`` where unknown, frame indices are dark→bright):

- :class:`ExposurePairDataset`: ``input``, ``target`` ``(3, H, W)``, ``input_ev``, ``target_ev``,
  ``input_index``, ``target_index``, ``scene``, ``dataset``; with ``references=True`` also ``ref_dark``,
  ``ref_bright`` ``(3, H, W)`` from another scene, ``ref_dark_ev``, ``ref_bright_ev``, ``ref_scene``.
- :class:`ReferencePairDataset`: ``dark``, ``bright`` ``(3, H, W)`` (``bright`` has the larger EV),
  ``dark_ev``, ``bright_ev``, ``dark_index``, ``bright_index``, ``scene``, ``dataset``.
- :class:`SequenceDataset`: ``frames`` ``(N, 3, H, W)`` (N varies), ``evs`` ``(N,)``, ``luminance`` ``(N,)``,
  ``scene``, ``dataset``; batch it with ``batch_size=1`` or :func:`collate_sequences`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from exposurekit.data.brackets import Bracket, load_brackets

__all__ = [
    "ExposurePairDataset",
    "ReferencePairDataset",
    "SequenceDataset",
    "collate_sequences",
    "make_loader",
    "read_frames",
    "select_brackets",
]


def select_brackets(
    brackets: Sequence[Bracket] | str | Path,
    split: str = "train",
    min_frames: int = 2,
) -> list[Bracket]:
    """Brackets of the given split (``"train"``, ``"held_out"`` or ``"all"``) with at least ``min_frames``."""
    if isinstance(brackets, (str, Path)):
        brackets = load_brackets(brackets)
    if split not in ("train", "held_out", "all"):
        raise ValueError(f"split must be 'train', 'held_out' or 'all', got {split!r}")
    out = [b for b in brackets if len(b.frames) >= min_frames]
    if split == "train":
        out = [b for b in out if not b.held_out]
    elif split == "held_out":
        out = [b for b in out if b.held_out]
    return out


def read_frames(bracket: Bracket, indices: Sequence[int], long_side: int | None = None,
                size: tuple[int, int] | None = None) -> Tensor:
    """Read frames ``indices`` of a bracket as ``(len(indices), 3, H, W)``.

    All frames take the size of the first one read (or ``size``), then shrink to ``long_side`` if given.
    """
    from exposurekit.io import read_image
    from exposurekit.ops import array_to_tensor, resize_long_side, resize_to

    imgs = [array_to_tensor(read_image(bracket.frames[i]).rgb) for i in indices]
    target = tuple(size) if size is not None else tuple(imgs[0].shape[-2:])
    x = torch.cat([resize_to(t, target) for t in imgs], 0)
    if long_side is not None:
        x = resize_long_side(x, long_side)
    return x.clamp_(0, 1)


def _evs(b: Bracket) -> list[float]:
    return list(b.evs) if b.evs is not None else [math.nan] * len(b.frames)


class _BracketDataset(Dataset):
    def __init__(
        self,
        brackets: Sequence[Bracket] | str | Path,
        split: str,
        crop: int | None,
        size: tuple[int, int] | None,
        long_side: int | None,
        flip: bool,
        seed: int,
        min_frames: int = 2,
    ) -> None:
        self.brackets = select_brackets(brackets, split, min_frames)
        if not self.brackets:
            raise ValueError(f"no brackets with at least {min_frames} frames in split {split!r}")
        self.crop = crop
        self.size = tuple(size) if size is not None else None
        self.long_side = long_side
        self.flip = flip
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws (frames, crops, flips) for a new epoch."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def _load(self, b: Bracket, idx: Sequence[int]) -> Tensor:
        if self.size is not None:
            return read_frames(b, idx, size=self.size)
        return read_frames(b, idx, long_side=self.long_side)

    def _augment(self, x: Tensor, rng: np.random.Generator) -> Tensor:
        """Same random crop and flips for every frame of ``x`` ``(N, 3, H, W)``."""
        from exposurekit.ops import resize_to

        if self.crop is not None:
            c = int(self.crop)
            h, w = x.shape[-2:]
            if min(h, w) < c:  # too small for the crop: enlarge, keeping the aspect
                s = c / min(h, w)
                x = resize_to(x, (max(c, round(h * s)), max(c, round(w * s))))
                h, w = x.shape[-2:]
            top = int(rng.integers(0, h - c + 1))
            left = int(rng.integers(0, w - c + 1))
            x = x[..., top:top + c, left:left + c]
        if self.flip:
            if rng.random() < 0.5:
                x = x.flip(-1)
            if rng.random() < 0.5:
                x = x.flip(-2)
        return x.contiguous()

    def _other_scene(self, index: int, rng: np.random.Generator) -> Bracket:
        n = len(self.brackets)
        if n < 2:
            raise ValueError("cross-scene references need at least two scenes")
        j = int(rng.integers(0, n - 1))
        return self.brackets[j + (j >= index)]

    def __len__(self) -> int:
        return len(self.brackets)


def _dark_bright(b: Bracket, rng: np.random.Generator, min_luminance_gap: float = 0.05) -> tuple[int, int]:
    """Two frame indices in a known order: EV of the first < EV of the second.

    Without EVs the order is the bracket's (mean luminance), and the two frames must differ in mean
    luminance by at least ``min_luminance_gap`` so that the order is unambiguous; (darkest, brightest)
    is the fallback.
    """
    n = len(b.frames)
    evs = _evs(b)
    lum = b.luminance if b.evs is None else None
    for _ in range(32):
        i, j = sorted(int(v) for v in rng.choice(n, 2, replace=False))
        if b.evs is not None and evs[i] < evs[j]:
            return i, j
        if lum is not None and lum[j] - lum[i] >= min_luminance_gap:
            return i, j
    return 0, n - 1


class ExposurePairDataset(_BracketDataset):
    """Two exposures of one scene, cropped and flipped identically (UEC's restoration pairs, SIMR pairs).

    Args:
        brackets: brackets or a folder to load them from.
        split: ``"train"`` (default), ``"held_out"`` or ``"all"``.
        pairs_per_scene: items per scene per epoch (UEC: 1).
        target: ``"random"`` (another random frame) or ``"middle"`` (the bracket's best-exposed frame).
        order: ``"random"`` (either may be darker, UEC "correct both ways"), ``"dark_first"`` (input darker).
        crop: square crop size (``None``: whole frame); frames smaller than the crop are enlarged first.
        size: resize every frame to ``(H, W)`` (e.g. UEC's 448² squares); overrides ``long_side``.
        long_side: shrink frames to this long side before cropping.
        flip: random horizontal and vertical flips.
        references: add a dark/bright pair of **another** scene (UEC's monotonic loss).
        seed: base seed.
    """

    def __init__(
        self,
        brackets: Sequence[Bracket] | str | Path,
        split: str = "train",
        pairs_per_scene: int = 1,
        target: str = "random",
        order: str = "random",
        crop: int | None = 256,
        size: tuple[int, int] | None = None,
        long_side: int | None = None,
        flip: bool = True,
        references: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(brackets, split, crop, size, long_side, flip, seed)
        if target not in ("random", "middle"):
            raise ValueError(f"target must be 'random' or 'middle', got {target!r}")
        if order not in ("random", "dark_first"):
            raise ValueError(f"order must be 'random' or 'dark_first', got {order!r}")
        self.pairs_per_scene = int(pairs_per_scene)
        self.target = target
        self.order = order
        self.references = references

    def __len__(self) -> int:
        return len(self.brackets) * self.pairs_per_scene

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        k = index % len(self.brackets)
        b = self.brackets[k]
        n = len(b.frames)
        if self.target == "middle":
            t = b.middle_index
            i = int(rng.choice([j for j in range(n) if j != t]))
        else:
            i, t = (int(v) for v in rng.choice(n, 2, replace=False))
            if self.order == "dark_first" and i > t:
                i, t = t, i
        x = self._augment(self._load(b, [i, t]), rng)
        evs = _evs(b)
        item = {
            "input": x[0], "target": x[1],
            "input_ev": float(evs[i]), "target_ev": float(evs[t]),
            "input_index": i, "target_index": t,
            "scene": b.scene, "dataset": b.dataset,
        }
        if self.references:
            o = self._other_scene(k, rng)
            d, br = _dark_bright(o, rng)
            r = self._augment(self._load(o, [d, br]), rng)
            if r.shape[-2:] != x.shape[-2:]:
                from exposurekit.ops import resize_to

                r = resize_to(r, tuple(x.shape[-2:]))
            oe = _evs(o)
            item.update(ref_dark=r[0], ref_bright=r[1], ref_dark_ev=float(oe[d]), ref_bright_ev=float(oe[br]),
                        ref_scene=f"{o.dataset}/{o.scene}")
        return item


class ReferencePairDataset(_BracketDataset):
    """A dark and a bright exposure of one scene, in known EV order (``dark`` before ``bright``).

    With known EVs the order is by EV; otherwise by position in the dark→bright bracket (mean luminance).
    Use it for UEC's monotonic loss with scenes other than the current input's.
    """

    def __init__(
        self,
        brackets: Sequence[Bracket] | str | Path,
        split: str = "train",
        crop: int | None = 256,
        size: tuple[int, int] | None = None,
        long_side: int | None = None,
        flip: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(brackets, split, crop, size, long_side, flip, seed)

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        b = self.brackets[index]
        d, br = _dark_bright(b, rng)
        x = self._augment(self._load(b, [d, br]), rng)
        evs = _evs(b)
        return {"dark": x[0], "bright": x[1], "dark_ev": float(evs[d]), "bright_ev": float(evs[br]),
                "dark_index": d, "bright_index": br, "scene": b.scene, "dataset": b.dataset}


class SequenceDataset(_BracketDataset):
    """Whole sequences, dark→bright, of any length (LoopExpose: one sequence per step).

    Args:
        brackets: brackets or a folder.
        split: ``"train"`` (default), ``"held_out"`` or ``"all"``.
        crop: square crop, the same box for every frame (``None``: whole frames).
        size: resize every frame to ``(H, W)``; overrides ``long_side``.
        long_side: shrink to this long side (LoopExpose caps at 2048).
        flip: random flips, the same for every frame.
        max_frames: keep at most this many frames, evenly spread from darkest to brightest.
        min_frames: skip brackets with fewer frames.
        seed: base seed.
    """

    def __init__(
        self,
        brackets: Sequence[Bracket] | str | Path,
        split: str = "train",
        crop: int | None = None,
        size: tuple[int, int] | None = None,
        long_side: int | None = 512,
        flip: bool = False,
        max_frames: int | None = None,
        min_frames: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(brackets, split, crop, size, long_side, flip, seed, min_frames)
        self.max_frames = max_frames

    def frame_indices(self, b: Bracket) -> list[int]:
        """Which frames of ``b`` an item holds (all, or ``max_frames`` evenly spread)."""
        n = len(b.frames)
        if self.max_frames is None or n <= self.max_frames:
            return list(range(n))
        return sorted({int(round(v)) for v in np.linspace(0, n - 1, self.max_frames)})

    def __getitem__(self, index: int) -> dict:
        rng = self._rng(index)
        b = self.brackets[index]
        idx = self.frame_indices(b)
        x = self._augment(self._load(b, idx), rng)
        evs = _evs(b)
        lum = b.luminance
        return {"frames": x, "evs": torch.tensor([evs[i] for i in idx], dtype=torch.float32),
                "luminance": torch.tensor([lum[i] for i in idx], dtype=torch.float32),
                "scene": b.scene, "dataset": b.dataset}


def collate_sequences(items: list[dict]) -> list[dict] | dict:
    """Collate for :class:`SequenceDataset`: one item as is (batch size 1), several as a list."""
    return items[0] if len(items) == 1 else items


def _worker_init(worker_id: int) -> None:
    info = torch.utils.data.get_worker_info()
    torch.set_num_threads(1)
    np.random.seed((info.seed if info else worker_id) % 2**32)


def make_loader(
    dataset: Dataset,
    batch_size: int = 1,
    shuffle: bool = True,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A deterministic DataLoader: seeded shuffling, one thread per worker, pinned memory only with CUDA.

    :class:`SequenceDataset` gets :func:`collate_sequences` (sequences differ in length).
    """
    g = torch.Generator().manual_seed(int(seed))
    collate = collate_sequences if isinstance(dataset, SequenceDataset) else None
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers, generator=g,
        worker_init_fn=_worker_init if num_workers > 0 else None, pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0, drop_last=drop_last, collate_fn=collate,
    )
