"""Zero-DCE (Guo et al., CVPR 2020): the classic reference-free learned baseline.

DCE-Net (:mod:`exposurekit.models.zerodce`) predicts eight per-pixel quadratic curves; it is trained
with four no-reference losses (:mod:`exposurekit.losses.zerodce`) on frames of multi-exposure
sequences, with no ground truth. Inference runs the network at full resolution in overlapping tiles
(its receptive field is 15×15 pixels), so memory stays bounded on large photos.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from exposurekit.losses.zerodce import ZeroDCELoss, ZeroDCELossWeights
from exposurekit.methods.base import Method
from exposurekit.methods.registry import register_method
from exposurekit.models.zerodce import DCENet, flush_subnormal_
from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.tiling import tiled_apply
from exposurekit.train.config import TrainConfig

__all__ = ["RECEPTIVE_RADIUS", "ZeroDCE", "ZeroDCEConfig", "load_training_images", "training_paths"]

RECEPTIVE_RADIUS = 7
"""Seven 3×3 convolutions see 7 pixels to each side."""

_OVERLAP = 8  # tiles are exact (margin ≥ receptive radius); a narrow blend only hides float rounding


@dataclass
class ZeroDCEConfig(TrainConfig):
    """Training settings of Zero-DCE; defaults are the paper's (200 epochs of batch 8 at 256×256).

    Attributes:
        size: training frames are resized (not cropped) to ``size``×``size``.
        crop: when set (and smaller than ``size``), each step uses a random ``crop``×``crop`` window of
            every resized frame: the same pixel scale as the paper for a quarter of the cost at 128.
        weight_decay: Adam weight decay.
        exposure_level: the exposure loss' target E.
        w_spatial, w_exposure, w_color, w_smoothness: loss weights (1, 10, 5, 200).
        hflip: random horizontal flips (off in the paper).
    """

    epochs: int = 200
    lr: float = 1e-4
    batch_size: int = 8
    crop: int | None = None
    grad_clip: float | None = 0.1
    size: int = 256
    weight_decay: float = 1e-4
    exposure_level: float = 0.6
    w_spatial: float = 1.0
    w_exposure: float = 10.0
    w_color: float = 5.0
    w_smoothness: float = 200.0
    hflip: bool = False

    def loss_weights(self) -> ZeroDCELossWeights:
        return ZeroDCELossWeights(self.w_spatial, self.w_exposure, self.w_color, self.w_smoothness,
                                  self.exposure_level)


@contextlib.contextmanager
def _flush_denormals() -> Iterator[None]:
    """Flush subnormal floats to zero on the CPU while the block runs (restores torch's default after)."""
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)


def load_training_images(paths: Sequence[str | Path], size: int) -> Tensor:
    """Read images, resize each to ``size``×``size`` (area interpolation) and stack them as uint8.

    Args:
        paths: image files.
        size: output side.

    Returns:
        :math:`(N, 3, size, size)` uint8 tensor (kept as uint8 to hold a whole data set in memory).
    """
    import cv2

    from exposurekit.io.read import read_image

    if not paths:
        raise ValueError("no training images")
    out = torch.empty(len(paths), 3, size, size, dtype=torch.uint8)
    for k, p in enumerate(paths):
        rgb = read_image(p).rgb
        if rgb.dtype == np.uint16:
            rgb = (rgb.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
        elif rgb.dtype != np.uint8:
            rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        shrink = rgb.shape[0] > size or rgb.shape[1] > size
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        out[k] = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    return out


@register_method("zerodce", summary="Zero-DCE: per-pixel curves from DCE-Net, trained without references",
                 kind="learned")
class ZeroDCE(Method):
    """Zero-reference deep curve estimation.

    Args:
        width: DCE-Net filters (32).
        iterations: curve iterations (8).
        tile: inference tile side in pixels; images larger than this are processed in tiles.
        margin: context pixels around each tile (at least the network's receptive radius, 7), so
            tiled output equals untiled output.

    Example:
        >>> import exposurekit as ek
        >>> m = ek.load_method("zerodce")
        >>> sum(p.numel() for p in m.model.parameters())
        79416
    """

    trainable = True
    default_weights = "zerodce.safetensors"

    def __init__(self, width: int = 32, iterations: int = 8, tile: int = 512, margin: int = 8) -> None:
        super().__init__()
        if margin < RECEPTIVE_RADIUS:
            raise ValueError(f"margin must be at least {RECEPTIVE_RADIUS} pixels (the receptive radius), got {margin}")
        if tile < 32:
            raise ValueError(f"tile must be at least 32 pixels, got {tile}")
        self.model = DCENet(width=width, iterations=iterations).to(memory_format=torch.channels_last)
        self.model.eval()
        self.tile, self.margin = tile, margin

    # ------------------------------------------------------------------ inference
    def correct(self, images: Tensor) -> Tensor:
        """Enhance a batch, :math:`(B, 3, H, W)` in [0, 1] → same shape, in [0, 1]."""
        check_image_batch(images)
        assert self.model is not None
        x = images.to(self.device).clamp(0, 1)
        with torch.no_grad(), _flush_denormals():
            out = tiled_apply(self._enhance, x, tile=self.tile, overlap=_OVERLAP, margin=self.margin)
        return out.clamp(0, 1)

    def _enhance(self, tile: Tensor) -> Tensor:
        # channels-last convolutions are about 1.7x faster on CPU (oneDNN)
        assert self.model is not None
        return self.model.enhance(tile.contiguous(memory_format=torch.channels_last)).contiguous()

    def curves(self, images: Tensor) -> Tensor:
        """The curve-parameter maps :math:`(B, 3n, H, W)` in [-1, 1] (tiled like :meth:`correct`)."""
        check_image_batch(images)
        assert self.model is not None
        with torch.no_grad(), _flush_denormals():
            return tiled_apply(
                lambda t: self.model.curve_maps(t.contiguous(memory_format=torch.channels_last)).contiguous(),
                images.to(self.device).clamp(0, 1), tile=self.tile, overlap=_OVERLAP, margin=self.margin)

    # ------------------------------------------------------------------ weights
    def state_and_meta(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """State with subnormal weights zeroed (they slow CPU inference 20–100×) and the net's config."""
        assert self.model is not None
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        tiny = torch.finfo(torch.float32).tiny
        for v in state.values():
            if v.dtype.is_floating_point:
                v[(v != 0) & (v.abs() < tiny)] = 0.0
        return state, {"method": self.name or "zerodce", "config": dict(self.model.config)}

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        cfg = (meta or {}).get("config") or {}
        assert self.model is not None
        if cfg and cfg != self.model.config:
            self.model = DCENet(**cfg).to(self.device, memory_format=torch.channels_last)
        self.model.load_state_dict(state)
        flush_subnormal_(self.model)

    # ------------------------------------------------------------------ training
    def fit(self, data: str | Path | Sequence[str | Path] | Tensor, run_dir: str | Path = "runs/zerodce",
            config: ZeroDCEConfig | None = None, *, progress: bool = True, resume: bool = True,
            exclude_held_out: bool = True) -> Any:
        """Train DCE-Net on unpaired images with the four Zero-DCE losses.

        Args:
            data: a folder of images, a list of image files, or a preloaded :math:`(N, 3, S, S)` tensor
                (uint8, or float in [0, 1]). A folder that is a known multi-exposure set (SICE Part 1)
                has its held-out scenes removed when ``exclude_held_out``.
            run_dir: folder for the checkpoint (``last.pt``), history, loss plot and config.
            config: :class:`ZeroDCEConfig` (``load_config(ZeroDCEConfig, path, **overrides)``).
            progress: show a progress bar.
            resume: continue from ``run_dir/last.pt`` when present.
            exclude_held_out: drop held-out scenes of known data sets (see :func:`training_paths`).

        Returns:
            :class:`~exposurekit.train.TrainResult`; ``extra["n_images"]`` is the number of frames used.
        """
        from exposurekit.train.trainer import Trainer, seed_everything

        cfg = config or ZeroDCEConfig()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        gen = seed_everything(cfg.seed)
        if isinstance(data, Tensor):
            frames = data
        else:
            paths = training_paths(data, exclude_held_out=exclude_held_out)
            frames = load_training_images(paths, cfg.size)
        if frames.ndim != 4 or frames.shape[1] != 3 or frames.shape[0] == 0:
            raise ValueError(f"expected training frames of shape (N, 3, H, W) with N > 0, got {tuple(frames.shape)}")
        n = frames.shape[0]
        device = torch.device(cfg.device)
        assert self.model is not None
        self.model.to(device, memory_format=torch.channels_last)
        self.device = device
        loss_fn = ZeroDCELoss(cfg.loss_weights())
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        trainer = Trainer({"dcenet": self.model}, opt, run_dir, cfg, progress=progress)
        del gen

        def batches(epoch: int) -> Iterator[Tensor]:
            g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=g)
            bs = max(1, min(cfg.batch_size, n))
            for s in range(0, n - bs + 1, bs):  # drop the last incomplete batch, as the paper's loader
                x = frames[order[s:s + bs]]
                if cfg.crop and cfg.crop < min(x.shape[-2:]):
                    c = cfg.crop
                    ys = torch.randint(0, x.shape[-2] - c + 1, (x.shape[0],), generator=g).tolist()
                    xs = torch.randint(0, x.shape[-1] - c + 1, (x.shape[0],), generator=g).tolist()
                    x = torch.stack([im[:, y:y + c, x0:x0 + c] for im, y, x0 in zip(x, ys, xs)])
                x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
                if cfg.hflip:
                    flip = torch.rand(x.shape[0], generator=g) < 0.5
                    x[flip] = x[flip].flip(-1)
                yield x.to(device).contiguous(memory_format=torch.channels_last)

        def step(x: Tensor, epoch: int) -> dict[str, Tensor]:
            out = self.model(x)
            return loss_fn(out.image, x, out.curves)

        result = trainer.fit(step, batches, resume=resume, title="Zero-DCE")
        self.model.eval()
        flush_subnormal_(self.model)
        result.extra["n_images"] = int(n)
        return result


def training_paths(data: str | Path | Sequence[str | Path], exclude_held_out: bool = True) -> list[Path]:
    """Image files to train on.

    A folder that :func:`exposurekit.data.brackets.detect_layout` recognises as a multi-exposure data set
    (the shared SICE Part-1 frames or MEF database, SICE with scene folders, DeepFuse, MEFB, synthesized
    sequences) gives the frames of its brackets, without the held-out scenes when ``exclude_held_out``;
    any other folder gives its images, subfolders included (natural order); a list is used as given.

    Raises:
        ValueError: no images found.
    """
    from exposurekit.io.read import IMAGE_SUFFIXES

    if isinstance(data, (str, Path)):
        root = Path(data)
        if not root.is_dir():
            raise ValueError(f"training data {root}: not a folder of images")
        paths = sorted((p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                       key=_natural_key)
        brackets = _brackets_of(root)
        if brackets is not None:
            kept = [b for b in brackets if not (exclude_held_out and b.held_out)]
            held = {f.resolve() for b in brackets if b.held_out for f in b.frames} if exclude_held_out else set()
            in_brackets = {f.resolve() for b in brackets for f in b.frames}
            # frames the scene recovery left unassigned stay in (they belong to no held-out scene)
            loose = [p for p in paths if p.resolve() not in in_brackets and p.resolve() not in held]
            paths = sorted({f for b in kept for f in b.frames} | set(loose), key=_natural_key)
    else:
        paths = [Path(p) for p in data]
    if not paths:
        raise ValueError(f"no training images in {data}")
    return paths


def _natural_key(p: Path) -> tuple:
    stem = p.stem
    return (str(p.parent), 0, int(stem), "") if stem.isdigit() else (str(p.parent), 1, 0, stem)


def _brackets_of(root: Path) -> list | None:
    """Brackets of a multi-exposure folder, or ``None`` for a plain folder of photos.

    The two layouts that are guessed from weak evidence (a flat folder of numbered frames, and folders of
    images) count only under the shared data set names (``sice_part1_512_zerodcepp_train``,
    ``mef_ma_database``); the others (SICE with scene folders, DeepFuse, MEFB, synthesized sequences) are
    recognised anywhere.
    """
    from exposurekit.data.brackets import SHARED_FOLDERS, detect_layout, load_brackets

    try:
        layout = detect_layout(root)
    except ValueError:
        return None
    weak = {"sice-flat": SHARED_FOLDERS["sice"], "mef": SHARED_FOLDERS["mef"]}
    if layout in weak and root.name != weak[layout]:
        return None
    return load_brackets(root, layout=layout) or None
