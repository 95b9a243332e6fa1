"""LoopExpose (arXiv 2511.06066): a single-image corrector trained on pseudo-labels from exposure fusion.

Registered methods:

* ``loopexpose`` — single-image correction by :class:`~exposurekit.models.loopexpose.LoopExposeNet`
  (trainable, ``.fit``; shipped weights ``loopexpose.safetensors``).
* ``loopexpose-fusion`` — fusion of a bracket: correct every frame, clamp, then Mertens.
* ``mertens-torch`` — the differentiable torch Mertens fusion (:func:`exposurekit.fusion.mertens_fusion`).

The nested loop (see :meth:`LoopExpose.fit`): in the first epochs the pseudo-label of a sequence is the
Mertens fusion of its N frames; afterwards it is the Mertens fusion of 2N frames — the current model's
corrections (eval mode, no gradient, clamped to [0, 1], recomputed every step) plus the N inputs. Every
corrected frame is compared with that one label (L1 + 0.5·(1 − SSIM)) and the luminance scalars are
ranked along the sequence's known dark → bright order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from exposurekit.fusion.mertens import mertens_fusion
from exposurekit.methods.base import Method, SequenceMethod
from exposurekit.methods.registry import register_method
from exposurekit.ops.checks import check_image_batch
from exposurekit.train.config import TrainConfig

__all__ = [
    "LoopExpose",
    "LoopExposeFusion",
    "LoopExposeTrainConfig",
    "MertensTorch",
    "correct_then_fuse_arrays",
    "lr_factor",
    "pseudo_label",
]


@register_method("mertens-torch", summary="Mertens exposure fusion in torch (differentiable; weights 1,1,1)",
                 kind="fusion", needs_sequence=True)
class MertensTorch(SequenceMethod):
    """Mertens et al. (2007) fusion by :func:`exposurekit.fusion.mertens_fusion`.

    Args:
        contrast, saturation, exposedness: weight exponents (paper: 1, 1, 1; OpenCV default: 1, 1, 0).
    """

    def __init__(self, contrast: float = 1.0, saturation: float = 1.0, exposedness: float = 1.0) -> None:
        super().__init__()
        self.exponents = (contrast, saturation, exposedness)

    def fuse(self, stack: Tensor) -> Tensor:
        check_image_batch(stack)
        return mertens_fusion(stack, *self.exponents)


@dataclass
class LoopExposeTrainConfig(TrainConfig):
    """Training settings of LoopExpose (defaults = the documented recipe; ``configs`` scale it down).

    Attributes:
        epochs: total epochs (documented: 40).
        lr: Adam learning rate (documented: 5e-4, betas (0.9, 0.99)).
        label_switch_epoch: first epoch whose pseudo-labels fuse the model's corrections with the inputs
            (documented: 10 of 40). ``None``: a quarter of ``epochs``.
        cosine_start_epoch: first epoch of the cosine decay to ``final_lr_factor`` (documented: 30 of
            40). ``None``: three quarters of ``epochs``.
        final_lr_factor: lr factor reached at the last epoch (documented: ~0.02).
        long_side: training frames are shrunk to this long side (documented: native, capped at 2048).
        max_frames: longer sequences are subsampled (random, order kept) to this many frames per step.
        l1_weight, ranking_weight, ssim_weight: loss weights (documented: 1, 1, 0.5).
        perceptual_weight: weight of the VGG19 perceptual term; must stay 0 (no VGG weights offline).
        ranking_margin: margin of the ranking loss (the release uses 0, which is trivially satisfied).
        mertens_exponents: contrast, saturation, well-exposedness exponents of the pseudo-label fusion.
        hflip: flip each sequence horizontally with probability 0.5 (documented: no augmentation).
        val_scenes: held-out scenes used to follow the pseudo-labels' quality per epoch (0: off).
        datasets: shared datasets used when ``data`` is the shared data root.
        crop: unused (whole sequences, no crop, as documented).
    """

    epochs: int = 40
    lr: float = 5e-4
    crop: int | None = None
    label_switch_epoch: int | None = None
    cosine_start_epoch: int | None = None
    final_lr_factor: float = 0.02
    long_side: int | None = 2048
    max_frames: int | None = None
    l1_weight: float = 1.0
    ranking_weight: float = 1.0
    ssim_weight: float = 0.5
    perceptual_weight: float = 0.0
    ranking_margin: float = 0.1
    mertens_exponents: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    hflip: bool = False
    val_scenes: int = 12
    datasets: list[str] = field(default_factory=lambda: ["sice", "mef", "deepfuse", "mefb"])

    def switch_epoch(self) -> int:
        return self.label_switch_epoch if self.label_switch_epoch is not None else max(1, round(self.epochs / 4))

    def cosine_epoch(self) -> int:
        return self.cosine_start_epoch if self.cosine_start_epoch is not None else max(
            self.switch_epoch(), round(3 * self.epochs / 4))


def lr_factor(epoch: int, cfg: LoopExposeTrainConfig) -> float:
    """LR multiplier of ``epoch``: linear 1.0→0.1 before the label switch, 1.0, then cosine to the end.

    Example:
        >>> cfg = LoopExposeTrainConfig()
        >>> [round(lr_factor(e, cfg), 2) for e in (0, 9, 10, 29, 39)]
        [1.0, 0.1, 1.0, 1.0, 0.02]
    """
    s, c, e_n = cfg.switch_epoch(), cfg.cosine_epoch(), cfg.epochs
    if epoch < s:
        return 1.0 - 0.9 * epoch / (s - 1) if s > 1 else 1.0
    if epoch < c or e_n <= c:
        return 1.0
    t = (epoch - c + 1) / (e_n - c)
    return cfg.final_lr_factor + (1 - cfg.final_lr_factor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def pseudo_label(model: torch.nn.Module | None, frames: Tensor, exponents: Sequence[float] = (1.0, 1.0, 1.0)) -> Tensor:
    """The nested loop's pseudo-label of one sequence.

    Args:
        model: the current corrector, or ``None`` for the first stage (fusion of the inputs alone).
        frames: :math:`(N, 3, H, W)` in [0, 1].
        exponents: Mertens weight exponents.

    Returns:
        :math:`(1, 3, H, W)`: Mertens of the N inputs, or of the N corrections (eval mode, no gradient,
        clamped) plus the N inputs. The model's train/eval mode is restored.
    """
    with torch.no_grad():
        if model is None:
            return mertens_fusion(frames, *exponents)
        was_training = model.training
        model.eval()
        try:
            corrected = model(frames).image.clamp(0, 1)
        finally:
            model.train(was_training)
        return mertens_fusion(torch.cat([corrected, frames]), *exponents)


@register_method("loopexpose", summary="LoopExpose corrector trained on nested-loop fusion pseudo-labels (311K)",
                 kind="learned")
class LoopExpose(Method):
    """LoopExpose single-image exposure correction.

    Args:
        max_side: when set, images whose long side exceeds it are corrected at that size and the
            correction is not upsampled back (the release caps at 2048); ``None`` keeps the native size
            (the full-resolution path runs in strips, so memory stays bounded).
        tile_rows: rows per strip of the full-resolution path.
        **net_kwargs: other :class:`~exposurekit.models.loopexpose.LoopExposeConfig` fields for a new
            network (e.g. ``low_res=64`` for quick tests); weights files carry their own config.
    """

    trainable = True
    default_weights = "loopexpose.safetensors"

    def __init__(self, max_side: int | None = None, tile_rows: int | None = 256, **net_kwargs: Any) -> None:
        super().__init__()
        from exposurekit.models.loopexpose import LoopExposeNet

        self.max_side = max_side
        self.model = LoopExposeNet(tile_rows=tile_rows, **net_kwargs)
        self.model.eval()

    def correct(self, images: Tensor) -> Tensor:
        """Correct a batch, :math:`(B, 3, H, W)` → :math:`(B, 3, H, W)` in [0, 1]."""
        check_image_batch(images)
        from exposurekit.ops.resize import resize_long_side

        assert self.model is not None
        self.model.eval()
        x = resize_long_side(images, self.max_side) if self.max_side else images
        with torch.no_grad():
            return self.model(x).image.clamp(0, 1)

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        from exposurekit.models.loopexpose import LoopExposeNet

        cfg = dict(meta.get("config") or {})
        if self.model is not None:
            cfg["tile_rows"] = self.model.cfg.tile_rows
        self.model = LoopExposeNet(**cfg).to(self.device)
        self.model.load_state_dict(state)
        self.model.eval()

    # ------------------------------------------------------------------ training
    def fit(self, data: Any, run_dir: str | Path = "runs/loopexpose", config: LoopExposeTrainConfig | None = None,
            *, progress: bool = True, resume: bool = True, val_data: Any = None) -> Any:
        """Train with the nested loop on real multi-exposure sequences.

        Args:
            data: the shared data root (``../shared/data``: SICE, MEF, DeepFuse, MEFB are found by folder
                name), any folder :func:`exposurekit.data.brackets.load_brackets` understands, a list of
                :class:`~exposurekit.data.brackets.Bracket`, or a list of :math:`(N_i, 3, H_i, W_i)` tensors
                ordered dark → bright (any :math:`N_i \\ge 1`). Held-out scenes are always dropped.
            run_dir: folder for ``last.pt``, ``history.json``, ``losses.png`` and ``config.yaml``.
            config: :class:`LoopExposeTrainConfig` (``load_config(LoopExposeTrainConfig, path, **overrides)``).
            progress: show a progress bar.
            resume: continue from ``run_dir/last.pt`` when present.
            val_data: sequences to follow the pseudo-labels' quality on (same forms as ``data``; default:
                held-out scenes of ``data`` when it is a folder).

        Returns:
            :class:`~exposurekit.train.TrainResult`; ``extra`` holds the number of sequences and frames.
            Per epoch, the history has the loss terms, ``lr`` and, with validation scenes,
            ``val_label_psnr`` (this epoch's kind of pseudo-label, fused from the non-middle frames, vs the
            held-out middle frame), ``val_fusion_inputs_psnr``, ``val_fusion_loop_psnr`` and
            ``val_correction_psnr``.
        """
        from exposurekit.losses.loopexpose import ranking_loss, ssim_loss
        from exposurekit.train.trainer import Trainer, seed_everything

        cfg = config or LoopExposeTrainConfig()
        if cfg.perceptual_weight:
            raise ValueError("perceptual_weight must be 0: the VGG19 weights of the perceptual loss are not "
                             "available offline (torchvision is not used by this toolkit)")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed)
        seqs, val_default = _training_sequences(data, cfg)
        if not seqs:
            raise ValueError("no training sequences found (held-out scenes are excluded)")
        val = _training_sequences(val_data, cfg, held_out=True)[0] if val_data is not None else val_default
        val = [v for v in val if v.shape[0] >= 2][: cfg.val_scenes]
        device = torch.device(cfg.device)
        assert self.model is not None
        self.model.to(device)
        self.device = device
        model = self.model
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: lr_factor(e, cfg))
        trainer = Trainer({"loopexpose": model}, opt, run_dir, cfg, scheduler=sched, progress=progress)
        exps = tuple(cfg.mertens_exponents)

        def batches(epoch: int) -> Iterator[Tensor]:
            g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            for i in torch.randperm(len(seqs), generator=g).tolist():
                x = seqs[i]
                if cfg.max_frames and x.shape[0] > cfg.max_frames:
                    keep = torch.randperm(x.shape[0], generator=g)[: cfg.max_frames].sort().values
                    x = x[keep]
                if cfg.hflip and torch.rand((), generator=g) < 0.5:
                    x = x.flip(-1)
                yield (x.float() / 255.0).to(device)

        def step(x: Tensor, epoch: int) -> dict[str, Tensor]:
            label = pseudo_label(model if epoch >= cfg.switch_epoch() else None, x, exps)
            out = model(x)
            target = label.expand_as(out.image)
            l1 = F.l1_loss(out.image, target)
            rank = ranking_loss(out.luminance, cfg.ranking_margin)
            ss = ssim_loss(out.image, target)
            loss = cfg.l1_weight * l1 + cfg.ranking_weight * rank + cfg.ssim_weight * ss
            return {"loss": loss, "l1": l1.detach(), "ranking": rank.detach(), "ssim_loss": ss.detach()}

        def on_epoch_end(epoch: int) -> dict[str, float]:
            rec = {"lr": cfg.lr * lr_factor(epoch, cfg)}
            if val:
                rec.update(label_quality(model, [v.float() / 255.0 for v in val], exps,
                                         loop=epoch + 1 >= cfg.switch_epoch()))
            return rec

        result = trainer.fit(step, batches, on_epoch_end=on_epoch_end, resume=resume, title="LoopExpose")
        model.eval()
        result.extra.update({"n_sequences": len(seqs), "n_frames": int(sum(s.shape[0] for s in seqs)),
                             "n_val": len(val)})
        return result


def label_quality(model: torch.nn.Module, sequences: list[Tensor], exponents: Sequence[float] = (1.0, 1.0, 1.0),
                  loop: bool = True) -> dict[str, float]:
    """Quality of the pseudo-labels on held-out sequences, scored against each one's middle frame.

    The best-exposed frame (mean luma nearest 0.46) is left out; the labels are fused from the other
    frames, so the middle frame is an independent reference.

    Args:
        model: the corrector.
        sequences: :math:`(N_i, 3, H_i, W_i)` in [0, 1], dark → bright, :math:`N_i \\ge 2`.
        exponents: Mertens exponents.
        loop: which label the current stage uses (for ``val_label_psnr``).

    Returns:
        Mean PSNR (dB) of ``val_fusion_inputs_psnr`` (Mertens of the inputs), ``val_fusion_loop_psnr``
        (Mertens of corrections + inputs), ``val_correction_psnr`` (each corrected frame) and
        ``val_label_psnr`` (the one this stage trains on).
    """
    from exposurekit.metrics import psnr

    fin, floop, corr = [], [], []
    for seq in sequences:
        lum = (seq * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1).mean((1, 2))
        mid = int((lum - 0.46).abs().argmin())
        ref = seq[mid:mid + 1]
        others = torch.cat([seq[:mid], seq[mid + 1:]])
        fin.append(float(psnr(pseudo_label(None, others, exponents), ref)))
        floop.append(float(psnr(pseudo_label(model, others, exponents), ref)))
        with torch.no_grad():
            model.eval()
            c = model(others).image.clamp(0, 1)
        corr.append(float(psnr(c, ref.expand_as(c)).mean()))
    out = {"val_fusion_inputs_psnr": float(np.mean(fin)), "val_fusion_loop_psnr": float(np.mean(floop)),
           "val_correction_psnr": float(np.mean(corr))}
    out["val_label_psnr"] = out["val_fusion_loop_psnr"] if loop else out["val_fusion_inputs_psnr"]
    return out


def _training_sequences(data: Any, cfg: LoopExposeTrainConfig, held_out: bool = False) -> tuple[list[Tensor], list[Tensor]]:
    """``(sequences, held-out sequences)`` as uint8 :math:`(N, 3, H, W)` tensors at ``cfg.long_side``.

    With ``held_out=True`` the first list holds the held-out scenes instead (for validation data).
    """
    from exposurekit.data.brackets import (
        SHARED_FOLDERS,
        Bracket,
        load_brackets,
        read_bracket,
        shared_brackets,
    )

    if data is None:
        return [], []
    if isinstance(data, (str, Path)):
        root = Path(data)
        if any((root / f).is_dir() for f in SHARED_FOLDERS.values()):
            brackets = shared_brackets(root, datasets=cfg.datasets)
        else:
            brackets = load_brackets(root)
    else:
        brackets = list(data)
    if brackets and isinstance(brackets[0], Tensor):
        seqs = [_to_uint8(t) for t in brackets]
        return seqs, []
    train, held = [], []
    for b in brackets:
        if not isinstance(b, Bracket):
            raise TypeError(f"expected Bracket or tensor sequences, got {type(b).__name__}")
        (held if b.held_out else train).append(b)
    if held_out:
        train, held = held, []
    load = lambda bs: [_to_uint8(read_bracket(b, long_side=cfg.long_side)) for b in bs]  # noqa: E731
    val = load([b for b in held if len(b) >= 3][: cfg.val_scenes]) if cfg.val_scenes else []
    return load(train), val


def _to_uint8(t: Tensor) -> Tensor:
    if t.ndim != 4 or t.shape[1] != 3:
        raise ValueError(f"expected a (N, 3, H, W) sequence, got {tuple(t.shape)}")
    return t if t.dtype == torch.uint8 else (t.clamp(0, 1) * 255).round().to(torch.uint8)


@register_method("loopexpose-fusion", summary="LoopExpose fusion: correct every frame, then Mertens",
                 kind="fusion", needs_sequence=True)
class LoopExposeFusion(SequenceMethod):
    """Fuse a bracket by correcting each frame with LoopExpose, clamping, then Mertens fusion.

    Args:
        include_inputs: also fuse the uncorrected frames (2N frames, like the training labels).
        max_side, tile_rows: passed to :class:`LoopExpose`.
    """

    def __init__(self, include_inputs: bool = False, max_side: int | None = None, tile_rows: int | None = 256) -> None:
        super().__init__()
        self.corrector = LoopExpose(max_side=max_side, tile_rows=tile_rows)
        self.corrector.name = "loopexpose"
        self.include_inputs = include_inputs
        self.model = self.corrector.model
        self.corrector.load_weights(None)
        self.model = self.corrector.model

    def load_weights(self, path: str | Path | None = None) -> Method:
        self.corrector.load_weights(path)
        self.model = self.corrector.model
        return self

    def to(self, device: str | torch.device) -> Method:
        self.corrector.to(device)
        self.device = self.corrector.device
        return self

    def fuse(self, stack: Tensor) -> Tensor:
        check_image_batch(stack)
        corrected = torch.cat([self.corrector.correct(f[None]) for f in stack])
        if corrected.shape[-2:] != stack.shape[-2:]:
            stack = F.interpolate(stack, size=corrected.shape[-2:], mode="bilinear", antialias=True)
        frames = torch.cat([corrected, stack]) if self.include_inputs else corrected
        with torch.no_grad():
            return mertens_fusion(frames)


def correct_then_fuse_arrays(method: Method, frames: list[np.ndarray]) -> np.ndarray:
    """Correct every ``(H, W, 3)`` frame with ``method``, then Mertens-fuse them (used by ``exposurekit fuse``).

    Returns:
        The fused ``(H, W, 3)`` image in the frames' dtype.
    """
    from exposurekit.ops.convert import array_to_tensor, tensor_to_array

    with torch.no_grad():
        corrected = torch.cat([array_to_tensor(method.correct_array(f), method.device) for f in frames])
        fused = mertens_fusion(corrected)
    return tensor_to_array(fused, frames[0].dtype)
