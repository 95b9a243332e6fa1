"""CLIP-guided backlit enhancement: CLIP-LIT (``cliplit``), CLIP-LIT-Latent (``cliplit-latent``), RAVE (``rave``).

One class, three registered variants: they share the enhancement network
(:class:`~exposurekit.models.enhance_net.EnhanceNet`) and the identity loss, and differ only in the
guidance (:mod:`exposurekit.guidance`):

* ``prompts`` (CLIP-LIT): two prompts of 16 learned tokens read by CLIP's text transformer;
  cross-entropy initialisation, then rounds of enhancement training and margin-ranking refinement.
* ``latent`` (CLIP-LIT-Latent): two free vectors in the image-embedding space, same rounds.
* ``residual`` (RAVE): one stage against ``v_res`` from the mean embeddings of the two sets.

The guidance encoder is pluggable (``"exposure"``, ``"uec"``, ``"clip:PATH"``); the shipped weights
were trained with the exposure embedding, which needs no download (see ``docs/clip_guided.md``).

Inference predicts the illumination map on a copy whose long side is at most ``max_side`` and
upsamples it (bilinear) to full size, so memory and time stay bounded on large photos.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.methods.base import Method
from exposurekit.methods.registry import register_method
from exposurekit.models.enhance_net import EnhanceNet
from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.color import expose
from exposurekit.ops.resize import resize_long_side
from exposurekit.train import TrainConfig, Trainer, TrainResult, load_config

__all__ = ["GUIDANCE_DEFAULTS", "GUIDANCES", "ClipGuided", "default_train_config"]

GUIDANCES = ("prompts", "latent", "residual")
_WEIGHTS = {"prompts": "cliplit.safetensors", "latent": "cliplit-latent.safetensors", "residual": "rave.safetensors"}

COMMON_DEFAULTS: dict[str, Any] = {
    "warmup_steps": 0,         # identity-only "reconstruction" steps (published: 1000; our L starts at 1)
    "w_identity": 0.9 * 25,    # identity weight in the enhancement loss (0.9 × the ×25 identity)
    "identity": "pyramid",     # identity stand-in: pyramid | msssim | clip
    "identity_weights": [1.0, 1.0, 1.0, 1.0, 0.5],
    "embed_side": 224,         # side of the squares that are embedded for the cache
    "log_every": 20,           # optimiser steps per trainer "epoch" (one history row)
    "weight_decay": 1e-3,
    "drift_psnr": 8.0,         # re-initialise after warm-up if PSNR(input, output) falls below this
    "keep_best": True,         # end each enhancement phase with its best network (guidance loss on val_images)
    "val_images": 12,          # fixed backlit training images scored after every log_every steps
    # Our addition (0 = published: the network only ever sees backlit inputs). keep_frac · batch_size extra
    # images per enhancement step, drawn from keep_dirs (default: the well-lit training folders) and
    # over-exposed by a random EV in keep_ev (linear light, highlights clip), get only the identity loss
    # (× w_keep, default w_identity): the network learns to leave well-lit and over-exposed photos alone.
    "keep_frac": 0.0,
    "keep_dirs": [],
    "keep_ev": [0.0, 2.0],
    "w_keep": None,
}
GUIDANCE_DEFAULTS: dict[str, dict[str, Any]] = {
    "residual": {"steps": 240, "w_guide": 6 * 320, "shift_k": 0},
    "latent": {"init_steps": 400, "rounds": 2, "enhance_steps": 120, "prompt_steps": 60,
               "w_guide": 320, "w_rank": 200, "prompt_lr": 3e-2, "prompt_batch": 16, "scale": 100.0,
               "p_floor": 0.0},  # our addition: guidance max(P(backlit|out) - p_floor, 0); 0 = published
    "prompts": {"init_steps": 400, "rounds": 2, "enhance_steps": 120, "prompt_steps": 60,
                "w_guide": 320, "w_rank": 200, "prompt_lr": 5e-6, "prompt_batch": 16, "scale": 100.0,
                "n_tokens": 16},
}
"""Method-specific training settings (``TrainConfig.extra``); the published values are in methods.md."""


def default_train_config(guidance: str, **overrides: Any) -> TrainConfig:
    """The default :class:`TrainConfig` of a guidance mode (CPU-sized: 96² whole images, batch 4, lr 2e-5)."""
    extra = {**COMMON_DEFAULTS, **GUIDANCE_DEFAULTS[guidance], **(overrides.pop("extra", None) or {})}
    base = {"epochs": 1, "lr": 2e-5, "batch_size": 4, "crop": 96, "threads": 1}
    return TrainConfig(**{**base, **overrides, "extra": extra})


@register_method("rave", summary="RAVE: residual-vector guided backlit enhancement (one stage)",
                 kind="learned", guidance="residual")
@register_method("cliplit-latent", summary="CLIP-LIT-Latent: two learned latent class vectors guide the enhancer",
                 kind="learned", guidance="latent")
@register_method("cliplit", summary="CLIP-LIT: prompt-learning guided backlit enhancement (needs a CLIP model)",
                 kind="learned", guidance="prompts")
class ClipGuided(Method):
    """Backlit enhancement by an illumination-map network guided through an image embedding.

    Args:
        guidance: ``"prompts"`` (CLIP-LIT), ``"latent"`` (CLIP-LIT-Latent) or ``"residual"`` (RAVE).
        encoder: guidance encoder spec for training (``"exposure"``, ``"uec"``, ``"clip:PATH"``);
            ``None``: ``"exposure"``, or the one recorded in loaded weights. Not needed for inference.
        max_side: the illumination map is predicted at this long side at most (``None``: full size).
        l_floor: floor of the illumination map (largest gain ``1 / l_floor``).
    """

    trainable = True
    default_weights = "rave.safetensors"

    def __init__(self, guidance: str = "residual", encoder: str | None = None, max_side: int | None = 512,
                 l_floor: float = 0.05) -> None:
        super().__init__()
        if guidance not in GUIDANCES:
            raise ValueError(f"unknown guidance {guidance!r}; expected one of {', '.join(GUIDANCES)}")
        self.guidance = guidance
        self.encoder_spec = encoder
        self.max_side = max_side
        self.model: EnhanceNet = EnhanceNet(l_floor=l_floor)
        self.default_weights = _WEIGHTS[guidance]  # type: ignore[misc]  # one class, three weight files
        self.guidance_state: dict[str, Tensor] = {}
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ inference
    def illumination(self, images: Tensor) -> Tensor:
        """Illumination map :math:`(B, 1, H, W)` of :math:`(B, 3, H, W)` images (predicted at ``max_side``)."""
        small = resize_long_side(images, self.max_side) if self.max_side else images
        light = self.model.illumination(small)
        if light.shape[-2:] != images.shape[-2:]:
            light = F.interpolate(light, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return light.clamp_min(self.model.l_floor)

    def correct(self, images: Tensor) -> Tensor:
        """Enhance :math:`(B, 3, H, W)` RGB in [0, 1]; returns the same shape in [0, 1]."""
        check_image_batch(images)
        with torch.no_grad():
            return (images / self.illumination(images)).clamp(0, 1)

    # ------------------------------------------------------------------ weights
    def state_and_meta(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        state = {f"net.{k}": v for k, v in self.model.state_dict().items()}
        state.update({f"guidance.{k}": v for k, v in self.guidance_state.items()})
        meta = {"method": self.name, "config": self.model.config, "guidance": self.guidance,
                "encoder": self.encoder_spec, **{k: v for k, v in self.meta.items() if k not in ("method", "config")}}
        return state, meta

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        if meta.get("guidance") not in (None, self.guidance):
            raise ValueError(f"these weights were trained with guidance {meta['guidance']!r}, "
                             f"not {self.guidance!r}")
        net = {k[4:]: v for k, v in state.items() if k.startswith("net.")} or state
        if "l_floor" in meta.get("config", {}):
            self.model.l_floor = float(meta["config"]["l_floor"])
        self.model.load_state_dict(net)
        self.guidance_state = {k[9:]: v for k, v in state.items() if k.startswith("guidance.")}
        self.meta = dict(meta)
        if self.encoder_spec is None:
            self.encoder_spec = meta.get("encoder")

    # ------------------------------------------------------------------ training
    def fit(self, backlit: str | Path | Sequence[str | Path], well_lit: str | Path | Sequence[str | Path],
            run_dir: str | Path = "runs/clip", config: TrainConfig | str | Path | None = None, *,
            encoder: str | nn.Module | None = None, progress: bool = True, resume: bool = True,
            use_cache: bool = True, **overrides: Any) -> TrainResult:
        """Train the enhancement network (and the prompts / latent vectors) on unpaired folders.

        Args:
            backlit: folder(s) of backlit photos.
            well_lit: folder(s) of well-lit photos.
            run_dir: where checkpoints, ``history.json``, ``losses.png`` and ``config.yaml`` go.
            config: a :class:`TrainConfig`, a YAML file of settings, or ``None`` for
                :func:`default_train_config`. ``crop`` is the side of the square training images,
                ``extra`` holds the method settings of :data:`GUIDANCE_DEFAULTS` / ``COMMON_DEFAULTS``.
            encoder: guidance encoder spec or module (default ``self.encoder_spec`` or ``"exposure"``).
            progress: show a progress bar.
            resume: continue from ``run_dir/last.pt`` when present.
            use_cache: use the on-disk embedding cache.
            **overrides: ``TrainConfig`` fields overriding the config.

        Returns:
            The :class:`TrainResult`; ``extra`` has ``seconds`` per phase and the guidance summary.

        Raises:
            ValueError: an empty folder, or backlit and well-lit sets that are the same (one class).
        """
        from exposurekit.guidance import build_encoder, folder_embeddings, load_image_set

        cfg = _resolve_config(self.guidance, config, overrides)
        x = cfg.extra
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        backlit_dirs = [backlit] if isinstance(backlit, (str, Path)) else list(backlit)
        well_dirs = [well_lit] if isinstance(well_lit, (str, Path)) else list(well_lit)
        spec = encoder if encoder is not None else (self.encoder_spec or "exposure")
        if self.guidance == "prompts" and not (isinstance(spec, str) and spec.startswith("clip:")) \
                and not hasattr(spec, "guide"):
            raise ValueError("cliplit learns text prompts and needs a CLIP model: --encoder clip:PATH_OR_HUB_ID "
                             "(use cliplit-latent or rave for the exposure / UEC encoders)")
        t_start = time.perf_counter()
        enc = build_encoder(spec, cfg.device)
        side = int(cfg.crop or 128)
        bsets = load_image_set(backlit_dirs, side, "backlit", use_cache)
        wsets = load_image_set(well_dirs, side, "well-lit", use_cache)
        _require_disjoint(bsets, wsets, "well-lit", "training needs two different classes")
        keep_frac = float(x.get("keep_frac") or 0.0)
        keep_n = max(1, round(keep_frac * cfg.batch_size)) if keep_frac > 0 else 0
        kimg = None
        if keep_n:
            ksets = wsets  # default: the well-lit training photos, already loaded and checked
            if x.get("keep_dirs"):
                ksets = load_image_set(list(x["keep_dirs"]), side, "keep", use_cache)
                _require_disjoint(bsets, ksets, "keep", "the network would be told to leave backlit photos alone")
            kimg = ksets.images
            ev_lo, ev_hi = (float(v) for v in x["keep_ev"])
        w_keep = float(x["w_keep"] if x.get("w_keep") is not None else x["w_identity"])
        esets = (load_image_set(backlit_dirs, x["embed_side"], "backlit", use_cache),
                 load_image_set(well_dirs, x["embed_side"], "well-lit", use_cache)) \
            if x["embed_side"] != side else (bsets, wsets)
        t_emb = time.perf_counter()
        emb_b = folder_embeddings(enc, esets[0], x["embed_side"], use_cache=use_cache)
        emb_w = folder_embeddings(enc, esets[1], x["embed_side"], use_cache=use_cache)
        t_emb = time.perf_counter() - t_emb
        device = torch.device(cfg.device)
        net = self.model.to(device).train()
        identity = _identity(x, enc, scale_weights=True)
        warm_identity = _identity(x, enc, scale_weights=False)
        modules: dict[str, nn.Module] = {"net": net}
        groups: list[dict[str, Any]] = [{"params": list(net.parameters()), "lr": cfg.lr,
                                         "weight_decay": x["weight_decay"]}]
        residual = None
        prompts: nn.Module | None = None
        if self.guidance == "residual":
            from exposurekit.guidance import residual_vector

            residual = residual_vector(emb_w, emb_b)
            if int(x.get("shift_k") or 0) > 0:  # RAVE's "shifted" residual: top/bottom tokens projected out
                from exposurekit.guidance import Residual, shift_residual, vocabulary_embeddings

                if not hasattr(enc, "guide") or enc.guide.tokenizer is None:
                    raise ValueError("shift_k needs a CLIP encoder with a tokenizer (--encoder clip:PATH)")
                shifted, _, _ = shift_residual(residual.v_res, vocabulary_embeddings(enc.guide).cpu(),
                                               int(x["shift_k"]))
                residual = Residual(residual.v_pos, residual.v_neg, shifted, float(residual.v_pos @ shifted))
            v_res = residual.v_res.to(device)
        else:
            from exposurekit.guidance import LatentPrompts, PromptLearner

            if self.guidance == "latent":
                prompts = LatentPrompts(int(emb_b.shape[1]))
            else:
                prompts = PromptLearner(enc.guide, n_tokens=int(x["n_tokens"]))
            prompts = prompts.to(device)
            modules["prompts"] = prompts
            groups.append({"params": list(prompts.parameters()), "lr": x["prompt_lr"], "weight_decay": 0.0})
        chunks = _schedule(self.guidance, x)
        cfg.epochs = len(chunks)
        optimizer = torch.optim.Adam(groups)
        state: dict[str, Any] = {"pool": [], "reinit": 0}
        trainer = Trainer(modules, optimizer, run_dir, cfg, state=state, progress=progress)
        bimg = bsets.images
        emb_b_d, emb_w_d = emb_b.to(device), emb_w.to(device)
        labels_all = torch.cat([torch.zeros(len(emb_b), dtype=torch.long), torch.ones(len(emb_w), dtype=torch.long)])
        emb_all = torch.cat([emb_b_d, emb_w_d])
        phase_seconds: dict[str, float] = {}
        n_val = min(len(bimg), int(x.get("val_images", 12)))
        val_images = bimg[torch.linspace(0, len(bimg) - 1, n_val).long()].float().div(255).to(device)

        def batches(epoch: int) -> Iterator[Any]:
            from exposurekit.guidance.data import random_views

            phase, n = chunks[epoch]
            g = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
            t0 = time.perf_counter()
            for _ in range(n):
                if phase == "enhance" and kimg is not None:
                    views = random_views(bimg, cfg.batch_size, g)
                    ev = ev_lo + (ev_hi - ev_lo) * torch.rand(keep_n, generator=g)
                    yield views.to(device), expose(random_views(kimg, keep_n, g), ev).to(device)
                elif phase in ("warmup", "enhance"):
                    yield random_views(bimg, cfg.batch_size, g).to(device)
                else:
                    yield g
            phase_seconds[phase] = phase_seconds.get(phase, 0.0) + time.perf_counter() - t0

        def class_vectors(grad: bool) -> Tensor:
            assert prompts is not None
            with torch.set_grad_enabled(grad):
                return prompts()

        def step(batch: Any, epoch: int) -> dict[str, Tensor]:
            from exposurekit.guidance import backlit_probability, prompt_logits, ranking_loss, residual_loss

            phase = chunks[epoch][0]
            if phase == "warmup":
                out = net(batch)
                idl = warm_identity(out, batch).mean()
                return {"loss": idl, "identity": idl.detach(), "out_mean": out.detach().mean()}
            if phase == "enhance":
                keep = None
                if isinstance(batch, tuple):
                    batch, keep = batch
                out = net(batch)
                emb = enc(out)
                idl = identity(out, batch).mean()
                if residual is not None:
                    guide = residual_loss(emb, v_res, residual.thr).mean()
                else:
                    guide = _hinge(backlit_probability(emb, class_vectors(False).detach(), x["scale"]),
                                   x.get("p_floor", 0.0)).mean()
                loss = x["w_guide"] * guide + x["w_identity"] * idl
                rec = {"guide": guide.detach(), "identity": idl.detach(), "out_mean": out.detach().mean()}
                if keep is not None:
                    kl = identity(net(keep), keep).mean()
                    loss = loss + w_keep * kl
                    rec["keep"] = kl.detach()
                return {"loss": loss, **rec}
            gen_ = batch
            if phase == "init":
                idx = torch.randint(0, len(emb_all), (int(x["prompt_batch"]),), generator=gen_)
                logits = prompt_logits(emb_all[idx], class_vectors(True), x["scale"])
                ce = F.cross_entropy(logits, labels_all[idx].to(device))
                return {"loss": ce, "ce": ce.detach()}
            # refine: margin ranking over inputs, references and earlier outputs
            k = int(x["prompt_batch"])
            vec = class_vectors(True)

            def s(e: Tensor) -> Tensor:
                return backlit_probability(e, vec, x["scale"])

            def pick(e: Tensor) -> Tensor:
                return e[torch.randint(0, len(e), (k,), generator=gen_)]

            s_in, s_ref = s(pick(emb_b_d)), s(pick(emb_w_d))
            pool = state["pool"]
            if not pool:
                pairs = [(s_in, s_ref, 1.0)]
            else:
                s_last = s(pick(pool[-1].to(device)))
                pairs = [(s_in, s_ref, 0.9), (s_in, s_last, 0.9), (s_last, s_ref, 0.2)]
                if len(pool) >= 2:
                    pairs.append((s(pick(pool[-2].to(device))), s_last, 0.1))
            rank = ranking_loss(pairs)
            return {"loss": x["w_rank"] * rank, "rank": rank.detach()}

        def on_epoch_end(epoch: int) -> dict[str, float]:
            phase = chunks[epoch][0]
            last_of_phase = epoch + 1 >= len(chunks) or chunks[epoch + 1][0] != phase
            rec: dict[str, float] = {}
            if phase == "warmup" and last_of_phase:
                p = _mean_psnr(net, bimg[: min(16, len(bimg))].float().div(255).to(device))
                rec["warmup_psnr"] = p
                if p < x["drift_psnr"]:  # published recipe: restart with a new seed if the output drifts
                    state["reinit"] += 1
                    torch.manual_seed(cfg.seed + 1000 * state["reinit"])
                    net.reset_parameters()
            if phase == "enhance":  # keep the best network of the phase by the guidance loss on fixed images
                val = _val_guide(net, enc, val_images, residual, v_res if residual is not None else None,
                                 None if prompts is None else class_vectors(False).detach(), x.get("scale", 100.0),
                                 x.get("p_floor", 0.0))
                rec["val_guide"] = val
                if val < state.get("best_val", math.inf):
                    state["best_val"] = val
                    state["best_net"] = {k: v.detach().clone() for k, v in net.state_dict().items()}
                if last_of_phase and x.get("keep_best", True) and "best_net" in state:
                    net.load_state_dict(state["best_net"])
                    rec["restored_val_guide"] = state["best_val"]
                if last_of_phase:
                    state.pop("best_val", None)
                    state.pop("best_net", None)
            if phase == "enhance" and last_of_phase and prompts is not None:
                with torch.no_grad():
                    outs = []
                    for s0 in range(0, len(esets[0]), 16):
                        xb = esets[0].images[s0:s0 + 16].float().div(255).to(device)
                        outs.append(enc(net(xb)).float().cpu())
                    state["pool"].append(torch.cat(outs))
                if len(state["pool"]) > 2:
                    state["pool"] = state["pool"][-2:]
            return rec

        val_start = math.nan  # the prompt modes' vectors are random before their initialisation
        if residual is not None:
            net.eval()
            val_start = _val_guide(net, enc, val_images, residual, v_res, None, 1.0)
            net.train()
        result = trainer.fit(step, batches, on_epoch_end=on_epoch_end, resume=resume,
                             title=f"{self.name or self.guidance} ({getattr(enc, 'cache_key', spec)})")
        net.eval()
        self.encoder_spec = spec if isinstance(spec, str) else getattr(spec, "cache_key", None)
        if residual is not None:
            self.guidance_state = {"v_res": residual.v_res, "v_pos": residual.v_pos, "v_neg": residual.v_neg}
            self.meta = {"thr": residual.thr}
        elif prompts is not None:
            self.guidance_state = {k: v.detach().cpu() for k, v in prompts.state_dict().items()
                                   if k in ("vectors", "ctx")}
            self.meta = {}
        total = time.perf_counter() - t_start
        self.meta.update({"encoder_key": getattr(enc, "cache_key", ""), "train_seconds": round(total, 1),
                          "embed_seconds": round(t_emb, 1),
                          "phase_seconds": {k: round(v, 1) for k, v in phase_seconds.items()},
                          "n_backlit": len(bsets), "n_well_lit": len(wsets), "steps": sum(n for _, n in chunks),
                          "keep_frac": keep_frac, "n_keep": 0 if kimg is None else len(kimg),
                          "train_side": side, "val_guide_start": val_start,
                          "val_guide_end": _val_guide(net, enc, val_images, residual,
                                                      v_res if residual is not None else None,
                                                      None if prompts is None else class_vectors(False).detach(),
                                                      x.get("scale", 100.0), x.get("p_floor", 0.0))})
        result.extra.update(self.meta)
        return result


def _resolve_config(guidance: str, config: TrainConfig | str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    if isinstance(config, TrainConfig):
        base = config
    else:
        base = default_train_config(guidance)
        if config is not None:
            loaded = load_config(TrainConfig, config)
            base = TrainConfig(**{**base.to_dict(), **{k: v for k, v in loaded.to_dict().items()
                                                        if k != "extra" and v != getattr(TrainConfig(), k)},
                                  "extra": {**base.extra, **loaded.extra}})
    extra = {**COMMON_DEFAULTS, **GUIDANCE_DEFAULTS[guidance], **base.extra, **(overrides.pop("extra", None) or {})}
    merged = {**base.to_dict(), **{k: v for k, v in overrides.items() if v is not None}, "extra": extra}
    return load_config(TrainConfig, None, **merged)


def _schedule(guidance: str, x: dict[str, Any]) -> list[tuple[str, int]]:
    """Phases as ``(phase, steps)`` chunks of at most ``log_every`` steps (one trainer epoch each)."""
    every = max(1, int(x["log_every"]))

    def chunked(phase: str, n: int) -> list[tuple[str, int]]:
        n = int(n)
        return [(phase, min(every, n - i)) for i in range(0, n, every)]

    out = chunked("warmup", x["warmup_steps"])
    if guidance == "residual":
        return out + chunked("enhance", x["steps"])
    out += chunked("init", x["init_steps"])
    for _ in range(int(x["rounds"])):
        out += chunked("enhance", x["enhance_steps"]) + chunked("refine", x["prompt_steps"])
    return out


def _require_disjoint(backlit: Any, other: Any, name: str, why: str) -> None:
    """Refuse two image sets (``.paths``) that share files: the backlit set and the ``name`` set."""
    shared = {p.resolve() for p in backlit.paths} & {p.resolve() for p in other.paths}
    if shared:
        raise ValueError(f"the backlit and {name} sets share {len(shared)} image(s) (e.g. {sorted(shared)[0]}): {why}")


def _hinge(p: Tensor, floor: float) -> Tensor:
    """``max(p - floor, 0)`` (``p`` itself when ``floor`` is 0, the published loss)."""
    return (p - float(floor)).clamp_min(0) if floor else p


def _identity(x: dict[str, Any], enc: nn.Module, scale_weights: bool) -> nn.Module:
    from exposurekit.guidance import IdentityLoss

    weights = x["identity_weights"] if scale_weights else [1.0] * len(x["identity_weights"])
    guide = getattr(enc, "guide", None)
    return IdentityLoss(x["identity"], weights=weights, guide=guide)


@torch.no_grad()
def _val_guide(net: nn.Module, enc: nn.Module, images: Tensor, residual: Any, v_res: Tensor | None,
               vectors: Tensor | None, scale: float, p_floor: float = 0.0) -> float:
    """Mean guidance loss of the network's outputs on fixed images (the residual loss, or P(backlit))."""
    from exposurekit.guidance import backlit_probability, residual_loss

    vals = []
    for s0 in range(0, len(images), 8):
        emb = enc(net(images[s0:s0 + 8]))
        if residual is not None:
            vals.append(residual_loss(emb, v_res, residual.thr))
        else:
            vals.append(_hinge(backlit_probability(emb, vectors, scale), p_floor))
    return float(torch.cat(vals).mean())


@torch.no_grad()
def _mean_psnr(net: nn.Module, images: Tensor) -> float:
    out = net(images)
    mse = (out - images).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(1 / mse)).mean()) if len(images) else math.inf
