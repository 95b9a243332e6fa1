"""SIMR as a toolkit method: semantic prior + SIMR U-Net, trained on exposure-state pseudo-targets.

Inference: the prior (superpixels by default; ``prior="fastsam"``/``"sam"`` with ``prior_path``) gives
features for each tile, the network corrects it; images larger than ``tile`` are processed in
overlapping tiles blended with a raised cosine (:func:`exposurekit.ops.tiling.tiled_apply`).

Training (:meth:`SIMR.fit`, ``exposurekit train simr``): real brackets (held-out scenes never read) →
an exposure-state scorer (the stand-in classifier, or CLIP prompts when ``extra.clip`` names a CLIP
model) → per-frame pseudo-targets (gamma maximising P(well), cached on disk) → MSE + cosine +
prior-region consistency losses. The shipped ``simr.safetensors`` holds the network (``net.*``) and
the classifier (``scorer.*``) with their configs. See ``docs/simr.md``.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.methods.base import Method
from exposurekit.methods.registry import register_method
from exposurekit.models.simr import PRESETS, SIMRConfig, SIMRNet
from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.tiling import tiled_apply

__all__ = ["SIMR", "TRAIN_DEFAULTS"]

TRAIN_DEFAULTS: dict[str, Any] = {
    "side": 256,
    "target_mode": "region",
    "region_weight": 0.5,
    "classifier_epochs": 40,
    "classifier": None,
    "clip": None,
    "prompt_steps": 300,
    "w_mse": 1.0,
    "w_cos": 0.5,
    "w_region": 0.1,
    "w_color": 0.5,
    "w_align": 0.0,
    "prior_noise": 0.0,
    "max_brackets": None,
}
"""SIMR settings under ``extra`` in the training config (defaults).

* ``side``: frames are stored with the long side resized to this (antialiased); crops of ``config.crop``.
* ``target_mode``: pseudo-targets ``"global"`` (one gamma) or ``"region"`` (per prior region);
  ``region_weight`` as in :class:`~exposurekit.guidance.pseudo_targets.PseudoTargetMaker`.
* ``classifier``: a trained classifier file (else one is trained for ``classifier_epochs``).
* ``clip``: a CLIP model (hub id or folder) for the scorer instead of the classifier; ``prompt_steps``.
* ``w_*``: loss weights (:class:`~exposurekit.losses.simr.SIMRLossWeights`).
* ``prior_noise``: std of Gaussian noise added to the (normalised) prior features in training.
* ``max_brackets``: use only this many training brackets (quick runs).
"""


@register_method("simr-tiny", summary="SIMR, tiny preset (tests): semantic prior + selective-scan U-Net",
                 kind="learned", preset="simr-tiny")
@register_method("simr", summary="SIMR: semantic prior (superpixels/FastSAM/SAM) + selective-scan U-Net, "
                 "exposure-state pseudo-targets", kind="learned", preset="simr")
class SIMR(Method):
    """Semantic-aware exposure correction with a 2-D selective-scan U-Net.

    Args:
        preset: network preset (:data:`exposurekit.models.simr.PRESETS`).
        prior: ``"superpixels"`` (default), ``"fastsam"``, ``"sam"`` or ``"none"``; ``None`` takes the
            prior the weights were trained with.
        prior_path: FastSAM ``.onnx`` file or SAM model folder.
        tile: tile side for large images (pixels).
        overlap: tile overlap (pixels).
        **net_kwargs: overrides of :class:`~exposurekit.models.simr.SIMRConfig` fields.
    """

    trainable = True

    def __init__(self, preset: str = "simr", prior: str | None = None, prior_path: str | Path | None = None,
                 tile: int = 1024, overlap: int = 128, **net_kwargs: Any) -> None:
        super().__init__()
        if preset not in PRESETS:
            raise KeyError(f"unknown SIMR preset {preset!r}; known: {sorted(PRESETS)}")
        self.preset = preset
        self.default_weights = f"{preset}.safetensors"  # type: ignore[misc]
        self.prior_name = prior
        self.prior_path = prior_path
        self.prior_kwargs: dict[str, Any] = {}
        self._prior: Any = None
        self._prior_built = False
        self.tile, self.overlap = tile, overlap
        self.net_kwargs = net_kwargs
        self.scorer: nn.Module | None = None
        self.model = self._build_net(SIMRConfig(**{**PRESETS[preset], "sem_in": self._prior_channels(), **net_kwargs}))

    # ------------------------------------------------------------------ parts
    def _build_net(self, cfg: SIMRConfig) -> SIMRNet:
        return SIMRNet(cfg)

    @property
    def prior(self) -> Any:
        """The semantic prior (built on first use; ``None`` for ``"none"``)."""
        if not self._prior_built:
            from exposurekit.priors import build_prior

            self._prior = build_prior(self.prior_name or "superpixels", self.prior_path, **self.prior_kwargs)
            self._prior_built = True
        return self._prior

    def _prior_channels(self) -> int:
        name = self.prior_name or "superpixels"
        if name == "none":
            return 1
        if name == "superpixels":
            from exposurekit.priors.superpixels import FEATURES_PER_LEVEL, SuperpixelPrior

            return FEATURES_PER_LEVEL * len(SuperpixelPrior().levels)
        return self.prior.channels

    def semantic_features(self, images: Tensor) -> Tensor | None:
        """Prior features :math:`(B, C_p, h, w)` of ``images`` (``None`` without a prior)."""
        prior = self.prior
        if prior is None:
            return None
        return prior(images).features[0].to(images.device)

    def modules(self) -> Iterator[nn.Module]:
        yield self.model
        if self.scorer is not None:
            yield self.scorer

    # ------------------------------------------------------------------ inference
    def _run(self, x: Tensor) -> Tensor:
        return self.model(x, self.semantic_features(x))

    def correct(self, images: Tensor) -> Tensor:
        """Correct a batch :math:`(B, 3, H, W)` in [0, 1]; tiles of ``tile`` px with ``overlap``."""
        check_image_batch(images)
        self.model.eval()
        with torch.no_grad():
            return tiled_apply(self._run, images.float(), tile=self.tile, overlap=self.overlap).clamp(0, 1)

    # ------------------------------------------------------------------ weights
    def state_and_meta(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        state = {f"net.{k}": v for k, v in self.model.state_dict().items()}
        meta: dict[str, Any] = {"method": self.name or "simr", "preset": self.preset, "config": self.model.config,
                                "prior": self.prior_name or "superpixels", "prior_kwargs": self.prior_kwargs}
        if self.scorer is not None and hasattr(self.scorer, "classifier"):
            state.update({f"scorer.{k}": v for k, v in self.scorer.classifier.state_dict().items()})
            meta["scorer"] = {"kind": "classifier", "config": self.scorer.classifier.config}
        return state, meta

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        cfg = SIMRConfig.from_dict(meta.get("config", {}))
        if self.prior_name is None:
            self.prior_name = meta.get("prior", "superpixels")
            self.prior_kwargs = dict(meta.get("prior_kwargs", {}))
            self._prior_built = False
        elif self.prior_name != meta.get("prior", "superpixels"):
            warnings.warn(f"SIMR weights were trained with the {meta.get('prior')!r} prior, running with "
                          f"{self.prior_name!r}", stacklevel=3)
            cfg.sem_in = self._prior_channels()
        net = self._build_net(cfg).to(self.device)
        net_state = {k[4:]: v for k, v in state.items() if k.startswith("net.")}
        if cfg.sem_in != meta.get("config", {}).get("sem_in", cfg.sem_in):
            net_state = {k: v for k, v in net_state.items() if not k.startswith("sem_proj.")}
            net.load_state_dict(net_state, strict=False)
        else:
            net.load_state_dict(net_state)
        self.model = net.eval()
        sc = meta.get("scorer")
        if sc and sc.get("kind") == "classifier":
            from exposurekit.guidance.exposure_classifier import ExposureClassifier
            from exposurekit.guidance.pseudo_targets import ClassifierScorer

            clf = ExposureClassifier(**sc.get("config", {}))
            clf.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("scorer.")})
            self.scorer = ClassifierScorer(clf).to(self.device)

    # ------------------------------------------------------------------ training
    def fit(self, data: str | Path | Sequence[str | Path] | None = None, config: str | Path | None = None,
            run_dir: str | Path = "runs/simr", resume: bool = False, progress: bool = True,
            **overrides: Any) -> Any:
        """Train on real brackets (held-out scenes are never read).

        Args:
            data: the shared data root (``../shared/data``) or bracket folders (any layout of
                :func:`exposurekit.data.brackets.load_brackets`); ``None``: the shared data root.
            config: YAML of :class:`~exposurekit.train.TrainConfig` settings; SIMR settings under
                ``extra`` (:data:`TRAIN_DEFAULTS`).
            run_dir: checkpoints, ``history.json``, ``losses.png``, ``config.yaml``, ``simr.safetensors``.
            resume: continue from ``run_dir/last.pt``.
            progress: progress bar.
            **overrides: settings overriding the file.

        Returns:
            :class:`~exposurekit.train.TrainResult`; ``extra["weights"]`` is the saved file.
        """
        return _fit(self, data, config, run_dir, resume, progress, **overrides)
