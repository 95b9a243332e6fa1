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

import os
import random
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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
    "target_mode": "global",
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
    "frames_per_bracket": 5,
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
* ``frames_per_bracket``: at most this many frames per bracket, evenly spaced dark→bright (MEF
  sequences have up to 30 nearly identical neighbours; ``null``: all).
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


# ====================================================================== training
def _training_brackets(data: str | Path | Sequence[str | Path] | None) -> list[Any]:
    from exposurekit.data.brackets import SHARED_FOLDERS, load_brackets, shared_brackets
    from exposurekit.evaluate.heldout import default_data_root

    roots = [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in (data or [default_data_root()])]
    out: list[Any] = []
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"training data folder not found: {root}")
        if any((root / f).is_dir() for f in SHARED_FOLDERS.values()):
            out.extend(shared_brackets(root))
        else:
            out.extend(load_brackets(root))
    train = [b for b in out if not b.held_out and len(b.frames) >= 2]
    if not train:
        raise ValueError(f"no training brackets (≥ 2 frames, not held out) under {', '.join(map(str, roots))}")
    return train


def _make_scorer(method: SIMR, brackets: list[Any], extra: dict[str, Any], log: Any) -> tuple[nn.Module, str]:
    from exposurekit.guidance.exposure_classifier import (
        ExposureClassifier,
        load_labelled_frames,
        train_exposure_classifier,
    )
    from exposurekit.guidance.pseudo_targets import ClassifierScorer, train_exposure_prompts
    from exposurekit.models.serialization import load_state

    if extra.get("clip"):
        from exposurekit.guidance.clip import ClipGuide

        guide = ClipGuide.from_pretrained(extra["clip"])
        x, y = load_labelled_frames(brackets, side=guide.image_size)
        return train_exposure_prompts(guide, x, y, steps=int(extra["prompt_steps"]), log=log), f"clip:{extra['clip']}"
    if extra.get("classifier"):
        state, meta = load_state(extra["classifier"])
        clf = ExposureClassifier(**meta.get("config", {}))
        clf.load_state_dict({k[7:] if k.startswith("scorer.") else k: v for k, v in state.items()
                             if not k.startswith("net.")})
        sid = f"classifier:{Path(extra['classifier']).name}:{Path(extra['classifier']).stat().st_size}"
        return ClassifierScorer(clf.eval()), sid
    x, y = load_labelled_frames(brackets)
    log(f"exposure classifier: {len(x)} frames, labels under/well/over {torch.bincount(y, minlength=3).tolist()}")
    clf = train_exposure_classifier(x, y, epochs=int(extra["classifier_epochs"]), log=log)
    digest = float(sum(p.detach().double().sum() for p in clf.parameters()))
    return ClassifierScorer(clf), f"classifier:trained:{digest:.6f}"


def _spread(frames: list[Any], k: int | None) -> list[Any]:
    """At most ``k`` frames, evenly spaced, the darkest and brightest included."""
    if not k or len(frames) <= k:
        return list(frames)
    idx = sorted({round(i * (len(frames) - 1) / (k - 1)) for i in range(k)}) if k > 1 else [len(frames) // 2]
    return [frames[i] for i in idx]


def _prepare(method: SIMR, brackets: list[Any], maker: Any, side: int, log: Any, progress: bool,
             per_bracket: int | None = None) -> dict[str, list]:
    """Frames (uint8), pseudo-targets (uint8), prior features (fp16, 1/4 size) and region labels."""
    import hashlib

    from exposurekit.guidance.pseudo_targets import targets_cache_dir
    from exposurekit.io import read_image
    from exposurekit.ops.convert import array_to_tensor
    from exposurekit.ops.resize import resize_long_side

    paths = [f for b in brackets for f in _spread(b.frames, per_bracket)]
    key_src = "|".join([str(side), method.prior_name or "superpixels", str(method.prior_path), str(method.prior_kwargs),
                        maker.scorer_id, maker.mode, str(maker.region_weight), *map(str, paths)])
    cache = targets_cache_dir().parent / "simr_prepared" / f"{hashlib.sha1(key_src.encode()).hexdigest()[:20]}.pt"
    if cache.is_file():
        log(f"prepared frames from cache {cache}")
        return torch.load(cache, weights_only=True)
    mask_prior = method.prior
    if mask_prior is None:
        from exposurekit.priors.superpixels import SuperpixelPrior

        mask_prior = SuperpixelPrior()
    data: dict[str, list] = {"x": [], "t": [], "f": [], "m": []}
    for i, path in enumerate(paths):
        x = resize_long_side(array_to_tensor(read_image(path).rgb), side).clamp(0, 1)
        h, w = x.shape[-2:]
        h4, w4 = h - h % 4, w - w % 4
        x = x[:, :, :h4, :w4]
        if method.prior is not None:
            feats, masks = method.prior.extract(x)
        else:
            feats, masks = None, mask_prior.extract(x)[1]
        g = maker.log_gamma_cached(path, x, masks)
        from exposurekit.guidance.pseudo_targets import apply_log_gamma

        t = apply_log_gamma(x, g)
        data["x"].append((x[0] * 255).round().to(torch.uint8))
        data["t"].append((t[0] * 255).round().to(torch.uint8))
        data["m"].append(masks[0].to(torch.int16))
        if feats is not None:
            data["f"].append(F.interpolate(feats.float(), size=(h4 // 4, w4 // 4), mode="bilinear",
                                           align_corners=False)[0].half())
        if progress and (i + 1) % 100 == 0:
            log(f"prepared {i + 1}/{len(paths)} frames")
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    torch.save(data, tmp)
    os.replace(tmp, cache)
    return data


def _fit(method: SIMR, data: Any, config: Any, run_dir: str | Path, resume: bool, progress: bool,
         **overrides: Any) -> Any:
    from exposurekit.guidance.pseudo_targets import PseudoTargetMaker, targets_cache_dir
    from exposurekit.losses.simr import SIMRLoss, SIMRLossWeights
    from exposurekit.train import TrainConfig, Trainer, load_config
    from exposurekit.train.trainer import seed_everything

    if config is None:
        overrides.setdefault("lr", 1e-3)
        overrides.setdefault("batch_size", 4)
        overrides.setdefault("crop", 128)
        overrides.setdefault("steps_per_epoch", 100)
        overrides.setdefault("threads", 1)
    cfg = load_config(TrainConfig, config, **overrides)
    cfg.extra = {**TRAIN_DEFAULTS, **cfg.extra}
    extra = cfg.extra
    unknown = sorted(set(extra) - set(TRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown SIMR setting(s) {unknown}; known: {sorted(TRAIN_DEFAULTS)}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if progress:
            print(msg, flush=True)
        with open(run_dir / "log.txt", "a") as fh:
            fh.write(msg + "\n")

    seed_everything(cfg.seed)
    brackets = _training_brackets(data)
    if extra["max_brackets"]:
        rng = random.Random(cfg.seed)
        brackets = sorted(brackets, key=lambda b: (b.dataset, b.scene))
        rng.shuffle(brackets)
        brackets = brackets[: int(extra["max_brackets"])]
    log(f"SIMR: {len(brackets)} training brackets, {sum(len(b.frames) for b in brackets)} frames")
    scorer, scorer_id = _make_scorer(method, brackets, extra, log)
    method.scorer = scorer
    maker = PseudoTargetMaker(scorer, mode=extra["target_mode"], region_weight=float(extra["region_weight"]),
                              cache=targets_cache_dir(), scorer_id=scorer_id)
    t0 = time.perf_counter()
    prepared = _prepare(method, brackets, maker, int(extra["side"]), log, progress, extra["frames_per_bracket"])
    log(f"prepared {len(prepared['x'])} frames (prior features, pseudo-targets) in {time.perf_counter() - t0:.0f} s")
    n = len(prepared["x"])
    net = method.model.to(cfg.device)
    weights = SIMRLossWeights(extra["w_mse"], extra["w_cos"], extra["w_region"], extra["w_color"], extra["w_align"])
    criterion = SIMRLoss(weights, scorer if weights.align else None)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, cfg.epochs), eta_min=cfg.lr * 0.05)
    steps = cfg.steps_per_epoch or max(1, n // cfg.batch_size)
    crop = int(cfg.crop or 128)
    crop -= crop % 4

    def batches(epoch: int) -> Iterator[tuple[Tensor, ...]]:
        rng = random.Random(cfg.seed * 1000 + epoch)
        for _ in range(steps):
            idx = [rng.randrange(n) for _ in range(cfg.batch_size)]
            c = min([crop] + [min(prepared["x"][i].shape[-2:]) for i in idx])
            c -= c % 4
            xs, ts, fs, ms = [], [], [], []
            for i in idx:
                h, w = prepared["x"][i].shape[-2:]
                y0 = rng.randrange(0, (h - c) // 4 + 1) * 4
                x0 = rng.randrange(0, (w - c) // 4 + 1) * 4
                flip = rng.random() < 0.5
                parts = [prepared["x"][i][:, y0:y0 + c, x0:x0 + c].float() / 255,
                         prepared["t"][i][:, y0:y0 + c, x0:x0 + c].float() / 255,
                         prepared["m"][i][y0:y0 + c, x0:x0 + c].long()]
                if prepared["f"]:
                    parts.append(prepared["f"][i][:, y0 // 4:(y0 + c) // 4, x0 // 4:(x0 + c) // 4].float())
                if flip:
                    parts = [p.flip(-1) for p in parts]
                xs.append(parts[0])
                ts.append(parts[1])
                ms.append(parts[2])
                if prepared["f"]:
                    fs.append(parts[3])
            feats = torch.stack(fs) if fs else None
            yield torch.stack(xs), torch.stack(ts), torch.stack(ms), feats

    noise = float(extra["prior_noise"])

    def step(batch: tuple[Tensor, ...], epoch: int) -> dict[str, Tensor]:
        x, t, m, feats = (b.to(cfg.device) if b is not None else None for b in batch)
        if feats is not None and noise > 0:
            feats = feats + noise * torch.randn_like(feats) * feats.std((0, 2, 3), keepdim=True)
        _, m = torch.unique(m, return_inverse=True)  # compact labels within the batch
        out = net(x, feats)
        return criterion(out, x, t, m)

    trainer = Trainer({"net": net}, opt, run_dir, cfg, scheduler=sched, progress=progress)
    result = trainer.fit(step, batches, resume=resume, title=f"SIMR ({method.preset})")
    method.model = net.eval()
    result.extra["weights"] = method.save_weights(run_dir / f"{method.preset}.safetensors")
    return result
