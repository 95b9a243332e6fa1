"""Exposure-state classifier (under / well / over): the stand-in for CLIP prompts when no CLIP weights exist.

Trained here, without manual labels, on real exposure brackets: in each training bracket the
best-exposed frame (:attr:`exposurekit.data.brackets.Bracket.middle_index`: EV 0 when EVs are known,
else the frame whose mean luma is closest to 18 % grey) is "well", darker frames are "under" and
brighter ones "over". Brackets with fewer than 3 frames are skipped (their middle is not defined).

Network (``ExposureClassifier``, 17 k parameters): the image squash-resized to 64×64 → three
stride-2 3×3 convolutions (3→16→32→32, ReLU) → global mean and max pooling (64), concatenated with a
soft 16-bin histogram of the luma and its mean and standard deviation (18) → Linear 82→32 → ReLU →
Linear 32→3. Everything is differentiable, so it can also score a network's output.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.ops.color import luminance

__all__ = ["STATES", "UNDER", "WELL", "OVER", "ExposureClassifier", "bracket_labels", "load_labelled_frames",
           "train_exposure_classifier"]

UNDER, WELL, OVER = 0, 1, 2
STATES = ("under", "well", "over")


def soft_histogram(y: Tensor, bins: int = 16) -> Tensor:
    """Differentiable histogram of values in [0, 1]: :math:`(B, 1, H, W)` to :math:`(B, bins)`, rows sum to 1.

    Each value is shared linearly between its two nearest bin centres (a triangular kernel), so the
    result is differentiable almost everywhere at the cost of one scatter per value.
    """
    pos = (y.flatten(1) * bins - 0.5).clamp(0, bins - 1)
    lo = pos.detach().floor().long()
    hi = (lo + 1).clamp(max=bins - 1)
    frac = pos - lo
    hist = torch.zeros(y.shape[0], bins, dtype=y.dtype, device=y.device)
    hist = hist.scatter_add(1, lo, 1 - frac).scatter_add(1, hi, frac)
    return hist / pos.shape[1]


class ExposureClassifier(nn.Module):
    """Three-way exposure-state classifier (see the module docstring).

    Args:
        side: input squash size.
        bins: luma histogram bins.
        width: channels of the convolutions (``width``, ``2·width``, ``2·width``).

    Shape:
        :math:`(B, 3, H, W)` in [0, 1] to logits :math:`(B, 3)` (under, well, over).
    """

    def __init__(self, side: int = 64, bins: int = 16, width: int = 16) -> None:
        super().__init__()
        self.side, self.bins = side, bins
        self.conv = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(nn.Linear(4 * width + bins + 2, 32), nn.ReLU(inplace=True), nn.Linear(32, 3))

    @property
    def config(self) -> dict[str, Any]:
        return {"side": self.side, "bins": self.bins, "width": self.conv[0].out_channels}

    def forward(self, images: Tensor) -> Tensor:
        x = F.interpolate(images, size=(self.side, self.side), mode="bilinear", align_corners=False,
                          antialias=min(images.shape[-2:]) > self.side)
        f = self.conv(x * 2 - 1)
        y = luminance(x.clamp(0, 1))
        stats = torch.cat([f.mean((2, 3)), f.amax((2, 3)), soft_histogram(y, self.bins),
                           y.mean((1, 2, 3))[:, None], y.std((1, 2, 3))[:, None]], dim=1)
        return self.mlp(stats)

    def probs(self, images: Tensor) -> Tensor:
        """Class probabilities :math:`(B, 3)`."""
        return self.forward(images).softmax(-1)


def bracket_labels(n_frames: int, middle: int) -> list[int]:
    """Labels of a dark→bright bracket: frames before ``middle`` under, ``middle`` well, after it over.

    Example:
        >>> bracket_labels(5, 2)
        [0, 0, 1, 2, 2]
    """
    return [UNDER if i < middle else WELL if i == middle else OVER for i in range(n_frames)]


def load_labelled_frames(brackets: Sequence[Any], side: int = 96, min_frames: int = 3,
                         allow_held_out: bool = False) -> tuple[Tensor, Tensor]:
    """Frames of ``brackets`` squash-resized to ``side``² uint8, with their exposure labels.

    Args:
        brackets: :class:`~exposurekit.data.brackets.Bracket` objects.
        side: stored square size.
        min_frames: brackets with fewer frames are skipped.
        allow_held_out: refuse held-out scenes unless True (evaluation only).

    Returns:
        ``(images (N, 3, side, side) uint8, labels (N,) int64)``.
    """
    from exposurekit.io import read_image
    from exposurekit.ops.convert import array_to_tensor

    imgs, labels = [], []
    for br in brackets:
        if br.held_out and not allow_held_out:
            raise ValueError(f"{br.dataset}/{br.scene} is a held-out scene; never train on it")
        if len(br.frames) < min_frames:
            continue
        for f, lab in zip(br.frames, bracket_labels(len(br.frames), br.middle_index), strict=True):
            x = array_to_tensor(read_image(f).rgb)
            x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
            imgs.append((x[0].clamp(0, 1) * 255).round().to(torch.uint8))
            labels.append(lab)
    if not imgs:
        raise ValueError(f"no bracket with at least {min_frames} frames")
    return torch.stack(imgs), torch.tensor(labels)


def train_exposure_classifier(images: Tensor, labels: Tensor, epochs: int = 40, batch_size: int = 64,
                              lr: float = 3e-3, seed: int = 0, model: ExposureClassifier | None = None,
                              log: Any = None) -> ExposureClassifier:
    """Train :class:`ExposureClassifier` with class-balanced cross-entropy, random crops and flips.

    Args:
        images: :math:`(N, 3, S, S)` uint8 (from :func:`load_labelled_frames`).
        labels: :math:`(N,)` in {0, 1, 2}.
        epochs: passes over the data.
        batch_size: images per step.
        lr: Adam learning rate (cosine schedule).
        seed: seed of init, order and crops.
        model: continue training this model instead of a new one.
        log: optional ``callable(str)`` for progress lines.
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = model or ExposureClassifier()
    counts = torch.bincount(labels, minlength=3).float().clamp_min(1)
    weight = counts.sum() / (3 * counts)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(labels)
    steps = epochs * max(1, -(-n // batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    side = images.shape[-1]
    crop = int(side * 0.8)
    net.train()
    for ep in range(epochs):
        perm = torch.randperm(n)
        total, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            y0, x0 = rng.randint(0, side - crop), rng.randint(0, side - crop)
            x = images[idx, :, y0:y0 + crop, x0:x0 + crop].float() / 255
            if rng.random() < 0.5:
                x = x.flip(-1)
            logits = net(x)
            loss = F.cross_entropy(logits, labels[idx], weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == labels[idx]).sum())
        if log is not None:
            log(f"classifier epoch {ep + 1}/{epochs}: loss {total / n:.4f} acc {correct / n:.3f}")
    return net.eval()
