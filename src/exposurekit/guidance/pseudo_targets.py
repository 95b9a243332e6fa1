"""Exposure-state guided pseudo-targets for SIMR: the gamma that makes an image look "well exposed".

A scorer gives :math:`P(\\text{under}), P(\\text{well}), P(\\text{over})` for an image:

* :class:`ClipExposureScorer`: CLIP with three learned prompts (CLIP-LIT-style token prompts, one per
  state), trained by cross-entropy on bracket frames whose state is known without manual labels
  (darker than the bracket's middle frame = under, middle = well, brighter = over);
* :class:`ClassifierScorer`: the stand-in without CLIP weights, the small
  :class:`~exposurekit.guidance.exposure_classifier.ExposureClassifier` trained on the same frames.

For each image, :meth:`PseudoTargetMaker.log_gamma` picks on a log-spaced grid of gammas the one whose
result :math:`x^{\\gamma}` has the highest :math:`P(\\text{well})` (refined by a parabola through the
best grid point and its neighbours). With ``mode="region"`` each large prior region (up to
``max_regions``, area ≥ ``min_area``) gets its own search on its bounding-box crop (pixels outside the
region keep the global correction); the per-pixel log-gamma is the global one moved ``region_weight`` of
the way towards the region's and smoothed (Gaussian, σ = ``smooth`` × long side) so no halo follows the
region border. Maps are stored at ``analysis_side`` and cached on disk per file
(``$EXPOSUREKIT_CACHE/simr_targets``).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.guidance.exposure_classifier import WELL, ExposureClassifier
from exposurekit.ops.resize import resize_long_side

__all__ = ["ClassifierScorer", "ClipExposureScorer", "ExposurePrompts", "PseudoTargetMaker", "apply_log_gamma",
           "gamma_grid", "targets_cache_dir", "train_exposure_prompts"]

Scorer = Callable[[Tensor], Tensor]


def targets_cache_dir() -> Path:
    """Cache folder of pseudo-target maps (``$EXPOSUREKIT_CACHE/simr_targets``)."""
    root = os.environ.get("EXPOSUREKIT_CACHE") or Path.home() / ".cache" / "exposurekit"
    return Path(root) / "simr_targets"


def gamma_grid(lo: float = 0.2, hi: float = 5.0, n: int = 33) -> Tensor:
    """``n`` gammas log-spaced from ``lo`` to ``hi`` (1 is included when the grid is symmetric)."""
    return torch.logspace(math.log10(lo), math.log10(hi), n)


def apply_log_gamma(images: Tensor, log_gamma: Tensor) -> Tensor:
    """:math:`x^{e^{g}}` with ``log_gamma`` :math:`(B,)` or a map :math:`(B, 1, h, w)` (resized to the image)."""
    if log_gamma.ndim == 1:
        log_gamma = log_gamma.view(-1, 1, 1, 1)
    elif log_gamma.shape[-2:] != images.shape[-2:]:
        log_gamma = F.interpolate(log_gamma, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return images.clamp(1e-4, 1).pow(torch.exp(log_gamma))


class ClassifierScorer(nn.Module):
    """Scorer from an :class:`ExposureClassifier`: images :math:`(B, 3, H, W)` to probabilities :math:`(B, 3)`."""

    def __init__(self, classifier: ExposureClassifier) -> None:
        super().__init__()
        self.classifier = classifier.eval()
        self.name = "classifier"
        self.side = classifier.side

    def forward(self, images: Tensor) -> Tensor:
        return self.classifier.probs(images)


class ExposurePrompts(nn.Module):
    """Three learned CLIP prompts (under, well, over), each ``n_tokens`` token embeddings.

    Reuses :class:`~exposurekit.guidance.prompts.PromptLearner` (built for two prompts) with a third
    row of context tokens.
    """

    def __init__(self, guide: nn.Module, n_tokens: int = 8, init_word: str = "X") -> None:
        super().__init__()
        from exposurekit.guidance.prompts import PromptLearner

        self.learner = PromptLearner(guide, n_tokens=n_tokens, init_word=init_word)
        self.learner.ctx = nn.Parameter(self.learner.ctx.data[:1].repeat(3, 1, 1).clone())

    def forward(self) -> Tensor:
        """Text embeddings :math:`(3, D)`."""
        return self.learner()


class ClipExposureScorer(nn.Module):
    """``softmax(100·cos(CLIP image embedding, prompt embeddings))`` :math:`(B, 3)`."""

    def __init__(self, guide: nn.Module, prompts: ExposurePrompts, scale: float = 100.0) -> None:
        super().__init__()
        self.guide, self.prompts, self.scale = guide, prompts, scale
        self.name = f"clip:{getattr(guide, 'source', '')}"
        self.side = int(getattr(guide, "image_size", 224))

    def logits(self, images: Tensor) -> Tensor:
        emb = F.normalize(self.guide.encode_image(images), dim=-1)
        return self.scale * emb @ F.normalize(self.prompts(), dim=-1).t()

    def forward(self, images: Tensor) -> Tensor:
        return self.logits(images).softmax(-1)


def train_exposure_prompts(guide: nn.Module, images: Tensor, labels: Tensor, steps: int = 200,
                           batch_size: int = 16, lr: float = 5e-3, n_tokens: int = 8, seed: int = 0,
                           log: Any = None) -> ClipExposureScorer:
    """Learn three exposure-state prompts by cross-entropy on frames with known state.

    Args:
        guide: a frozen :class:`~exposurekit.guidance.clip.ClipGuide` with a tokenizer.
        images: :math:`(N, 3, S, S)` uint8 frames.
        labels: :math:`(N,)` in {0 under, 1 well, 2 over}.
        steps: optimiser steps.
        batch_size: frames per step.
        lr: Adam learning rate.
        n_tokens: learnable tokens per prompt.
        seed: sampling seed.
        log: optional ``callable(str)``.
    """
    gen = torch.Generator().manual_seed(seed)
    scorer = ClipExposureScorer(guide, ExposurePrompts(guide, n_tokens))
    opt = torch.optim.Adam(scorer.prompts.parameters(), lr=lr)
    with torch.no_grad():  # image embeddings are fixed: compute once
        emb = torch.cat([F.normalize(guide.encode_image(images[i:i + 32].float() / 255), dim=-1)
                         for i in range(0, len(images), 32)])
    counts = torch.bincount(labels, minlength=3).float().clamp_min(1)
    weight = counts.sum() / (3 * counts)
    for step in range(steps):
        idx = torch.randint(0, len(labels), (batch_size,), generator=gen)
        logits = scorer.scale * emb[idx] @ F.normalize(scorer.prompts(), dim=-1).t()
        loss = F.cross_entropy(logits, labels[idx], weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None and (step == 0 or (step + 1) % 50 == 0 or step + 1 == steps):
            log(f"prompts step {step + 1}/{steps}: loss {float(loss.detach()):.4f}")
    return scorer


class PseudoTargetMaker:
    """Per-image (or per-region) gamma maximising :math:`P(\\text{well})` under a scorer.

    Args:
        scorer: images :math:`(B, 3, H, W)` to probabilities :math:`(B, 3)`.
        mode: ``"global"`` (one gamma per image) or ``"region"`` (per prior region, see module docs).
        grid: candidate gammas (default :func:`gamma_grid`).
        analysis_side: long side of the copy that is scored and of the stored map.
        max_regions: regions searched per image in ``"region"`` mode (largest first).
        min_area: smallest region (fraction of the image) searched.
        region_weight: how far the region gamma moves the global one (0: global, 1: region).
        smooth: Gaussian σ of the map as a fraction of the long side.
        cache: folder of cached maps (``None``: no cache).
        scorer_id: part of the cache key (change it when the scorer changes).
    """

    def __init__(self, scorer: Scorer, mode: str = "global", grid: Tensor | None = None, analysis_side: int = 128,
                 max_regions: int = 8, min_area: float = 0.02, region_weight: float = 0.5, smooth: float = 0.03,
                 cache: str | Path | None = None, scorer_id: str = "") -> None:
        if mode not in ("global", "region"):
            raise ValueError(f"mode must be 'global' or 'region', got {mode!r}")
        self.scorer, self.mode = scorer, mode
        self.grid = gamma_grid() if grid is None else grid
        self.analysis_side, self.max_regions, self.min_area = analysis_side, max_regions, min_area
        self.region_weight, self.smooth = region_weight, smooth
        self.cache = Path(cache) if cache is not None else None
        self.scorer_id = scorer_id

    # ------------------------------------------------------------------ search
    def _squash(self, x: Tensor, mode: str = "bilinear") -> Tensor:
        """Squash-resize to the scorer's input side first (it squashes anyway): candidates are cheap."""
        side = getattr(self.scorer, "side", None)
        if not side or tuple(x.shape[-2:]) == (side, side):
            return x
        if mode == "nearest":
            return F.interpolate(x, size=(side, side), mode="nearest")
        return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False,
                             antialias=min(x.shape[-2:]) > side)

    @torch.no_grad()
    def search(self, images: Tensor) -> Tensor:
        """Best log-gamma per image :math:`(B,)` for :math:`(B, 3, h, w)` (already small)."""
        lg = self.grid.log().to(images.device)
        images = self._squash(images)
        out = []
        for im in images:
            cand = im[None].clamp(1e-4, 1).pow(torch.exp(lg).view(-1, 1, 1, 1))  # (G, 3, h, w)
            p = self.scorer(cand)[:, WELL]
            i = int(p.argmax())
            best = lg[i]
            if 0 < i < len(lg) - 1:  # parabola through (i-1, i, i+1)
                y0, y1, y2 = float(p[i - 1]), float(p[i]), float(p[i + 1])
                den = y0 - 2 * y1 + y2
                if den < 0:
                    off = 0.5 * (y0 - y2) / den
                    best = lg[i] + max(-0.5, min(0.5, off)) * (lg[i + 1] - lg[i])
            out.append(best)
        return torch.stack(out)

    @torch.no_grad()
    def log_gamma(self, image: Tensor, masks: Tensor | None = None) -> Tensor:
        """Log-gamma map :math:`(1, 1, h, w)` at ``analysis_side`` for one image :math:`(1, 3, H, W)`.

        Args:
            image: the input.
            masks: prior region labels :math:`(1, H, W)` (required in ``"region"`` mode).
        """
        small = resize_long_side(image.float().clamp(0, 1), self.analysis_side)
        h, w = small.shape[-2:]
        g = self.search(small)[0]
        gmap = torch.full((1, 1, h, w), float(g))
        if self.mode == "region":
            if masks is None:
                raise ValueError("region mode needs the prior's masks")
            lab = F.interpolate(masks[:1, None].float(), size=(h, w), mode="nearest")[0, 0].long()
            base = small.clamp(1e-4, 1).pow(math.exp(float(g)))
            ids, counts = torch.unique(lab, return_counts=True)
            order = torch.argsort(counts, descending=True)
            target = gmap.clone()
            lg = self.grid.log()
            gam = torch.exp(lg).view(-1, 1, 1, 1)
            cands, regions = [], []
            for j in order[: self.max_regions]:
                if counts[j] < self.min_area * h * w:
                    break
                m = lab == ids[j]
                ys, xs = torch.nonzero(m, as_tuple=True)
                y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
                crop = self._squash(base[:, :, y0:y1, x0:x1])
                src = self._squash(small[:, :, y0:y1, x0:x1]).clamp(1e-4, 1)
                mc = self._squash(m[None, None, y0:y1, x0:x1].float(), "nearest") > 0.5
                cands.append(torch.where(mc, src.pow(gam), crop))  # (G, 3, s, s)
                regions.append(m)
            if regions:
                p = self.scorer(torch.cat(cands))[:, WELL].view(len(regions), -1)
                for m, pr in zip(regions, p, strict=True):
                    gr = float(lg[int(pr.argmax())])
                    target[0, 0][m] = float(g) + self.region_weight * (gr - float(g))
            sigma = max(0.5, self.smooth * max(h, w))
            gmap = _gaussian_blur(target, sigma)
        return gmap

    # ------------------------------------------------------------------ cache
    def key(self, path: str | Path) -> str:
        p = Path(path)
        st = p.stat()
        raw = f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}|{self.scorer_id}|{self.mode}|{self.analysis_side}|" \
              f"{len(self.grid)}|{float(self.grid[0]):.4f}|{float(self.grid[-1]):.4f}|{self.max_regions}|" \
              f"{self.min_area}|{self.region_weight}|{self.smooth}"
        return hashlib.sha1(raw.encode()).hexdigest()[:20]

    def log_gamma_cached(self, path: str | Path, image: Tensor, masks: Tensor | None = None) -> Tensor:
        """:meth:`log_gamma`, read from / written to the disk cache keyed by the file and the settings."""
        if self.cache is None:
            return self.log_gamma(image, masks)
        f = self.cache / f"{self.key(path)}.npy"
        if f.is_file():
            return torch.from_numpy(np.load(f).astype(np.float32))
        g = self.log_gamma(image, masks)
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, g.numpy().astype(np.float16))
        os.replace(tmp, f)
        return g

    def target(self, image: Tensor, masks: Tensor | None = None) -> Tensor:
        """The pseudo-target :math:`(1, 3, H, W)` of one image."""
        return apply_log_gamma(image, self.log_gamma(image, masks))


def _gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    r = max(1, int(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    xp = F.conv2d(xp, k.view(1, 1, 1, -1))
    return F.conv2d(xp, k.view(1, 1, -1, 1))
