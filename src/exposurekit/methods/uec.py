"""UEC as a toolkit method: targets, exact and lookup-table inference, training on brackets.

Inference needs a *target exposure*. Three ways to give one (see ``docs/uec.md``):

* the default target shipped with the weights: the mean exposure features of well-exposed photos,
  tabulated for EV offsets −3…+3 so that ``ev=+1`` asks for one stop brighter;
* ``reference=``: a well-exposed image (path or tensor) whose exposure the output should take, optionally
  shifted by ``ev`` stops (in linear light);
* ``target="auto"``: for each image, the EV offset whose output luminance histogram is nearest
  (Wasserstein-1) to the mean histogram of well-exposed photos (also stored with the weights).

Once λ is known for the three passes the correction is a fixed colour→colour map, so ``analyze`` bakes
it into a 33³ lookup table from a copy at the encoder's height (256) and ``apply`` maps full-resolution
pixels through it: trilinear in float (``path="lut"``), with Pillow's 8-bit ``Color3DLUT`` (``"lut8"``,
the fast path for big images and for ``correct_array`` on 8-bit photos), or by running the network on
every pixel (``"exact"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from exposurekit.methods.base import Method
from exposurekit.methods.registry import register_method
from exposurekit.models.uec import UEC, colour_grid, lookup
from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.color import linear_to_srgb, luminance, srgb_to_linear
from exposurekit.ops.resize import resize_height

__all__ = ["UECMethod", "UECState", "expose", "luminance_histogram"]

TARGET_EVS: tuple[float, ...] = tuple(x / 2 for x in range(-6, 7))
"""EV offsets at which the default target is tabulated (−3 … +3 in half stops)."""

AUTO_EVS: tuple[float, ...] = tuple(x / 2 for x in range(-4, 5))
"""Candidate EV offsets of ``target="auto"`` (−2 … +2 in half stops)."""

HIST_BINS = 64
"""Bins of the luminance histograms used by the automatic target."""

LUT8_PIXELS = 2_000_000
"""``path="auto"`` applies the 8-bit Pillow lookup table from this many pixels per image on."""

_EXACT_CHUNK = 1 << 17


def expose(x: Tensor, ev: float | Tensor) -> Tensor:
    """Change exposure by ``ev`` stops: gain ``2**ev`` in linear light, clip, re-encode to sRGB.

    Args:
        x: :math:`(B, 3, H, W)` sRGB in [0, 1].
        ev: a float or a :math:`(B,)` tensor.
    """
    gain = torch.as_tensor(2.0, dtype=x.dtype, device=x.device) ** torch.as_tensor(ev, dtype=x.dtype,
                                                                                    device=x.device)
    if gain.ndim:
        gain = gain.view(-1, 1, 1, 1)
    return linear_to_srgb((srgb_to_linear(x) * gain).clamp(0, 1))


def luminance_histogram(x: Tensor, bins: int = HIST_BINS) -> Tensor:
    """Normalised histogram of sRGB-encoded luma, :math:`(B, bins)` for images :math:`(B, 3, H, W)`."""
    y = luminance(x).flatten(1).clamp(0, 1)
    idx = (y * bins).long().clamp_(max=bins - 1)
    h = torch.zeros(x.shape[0], bins, dtype=x.dtype, device=x.device)
    h.scatter_add_(1, idx, torch.ones_like(y))
    return h / h.sum(1, keepdim=True)


def _w1(h: Tensor, ref: Tensor) -> Tensor:
    """Wasserstein-1 distance between histograms :math:`(B, bins)` and :math:`(bins,)` over [0, 1]."""
    return (h.cumsum(-1) - ref.cumsum(-1)).abs().sum(-1) / h.shape[-1]


@dataclass
class UECState:
    """Per-image result of :meth:`UECMethod.analyze`.

    Attributes:
        lambdas: :math:`(B, passes)` λ of every pass.
        lut: :math:`(B, 3, N, N, N)` baked colour map indexed ``[c, b, g, r]`` (``None`` for ``exact``).
        evs: :math:`(B,)` chosen EV offset (``target="auto"``), else ``None``.
    """

    lambdas: Tensor
    lut: Tensor | None = None
    evs: Tensor | None = None


@register_method("uec", summary="UEC (ECCV'24): 19k-parameter per-pixel network towards a target exposure; "
                 "the default", kind="learned")
class UECMethod(Method):
    """Unsupervised Exposure Correction (the toolkit's default method).

    Args:
        reference: a well-exposed image (file path, or a :math:`(1|B, 3, H, W)` tensor) whose exposure
            the output takes. ``None`` uses the default target stored with the weights.
        ev: exposure offset in stops relative to the target (``None`` = 0).
        target: ``"default"`` or ``"auto"`` (choose the EV offset per image, see the module docstring);
            ignored when ``reference`` is given.
        path: ``"auto"`` (float lookup table, 8-bit table from :data:`LUT8_PIXELS` pixels), ``"lut"``,
            ``"lut8"`` or ``"exact"`` (the network on every pixel).
        lut_size: side of the baked lookup table (2…65).
        height: encoder input height.
        passes: correction passes.
        anchor_black: ``g(x) = h(x) − h(0)`` so black stays black (see :mod:`exposurekit.models.uec`).
    """

    trainable = True
    pixelwise = True
    default_weights = "uec.safetensors"

    def __init__(self, reference: str | Path | Tensor | None = None, ev: float | None = None,
                 target: str = "default", path: str = "auto", lut_size: int = 33, height: int = 256,
                 passes: int = 3, anchor_black: bool = True) -> None:
        super().__init__()
        if path not in ("auto", "lut", "lut8", "exact"):
            raise ValueError(f"path must be 'auto', 'lut', 'lut8' or 'exact', got {path!r}")
        if target not in ("default", "auto"):
            raise ValueError(f"target must be 'default' or 'auto', got {target!r}")
        if not 2 <= int(lut_size) <= 65:
            raise ValueError(f"lut_size must be in 2..65 (Pillow's limit), got {lut_size}")
        self.model = UEC(height=height, passes=passes, anchor_black=anchor_black)
        self.reference = reference
        self.ev = 0.0 if ev is None else float(ev)
        self.target = target
        self.path = path
        self.lut_size = int(lut_size)
        # Default target stored with the weights (filled by training or load_weights).
        self.target_evs = torch.tensor(TARGET_EVS)
        self.target_features = torch.zeros(len(TARGET_EVS), 96)
        self.target_hist = torch.full((HIST_BINS,), 1.0 / HIST_BINS)
        self._ref_cache: Tensor | None = None
        self._g_cache: Tensor | None = None

    # ------------------------------------------------------------------ weights
    def state_and_meta(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        state = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        state.update({"target.evs": self.target_evs, "target.features": self.target_features,
                      "target.hist": self.target_hist})
        return state, {"method": "uec", "config": self.model.config}

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        cfg = meta.get("config", {})
        if cfg and any(cfg.get(k) != v for k, v in self.model.config.items() if k in ("passes", "anchor_black")):
            self.model = UEC(**{**self.model.config, **cfg})
        self.model.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")})
        if "target.features" in state:
            self.target_evs = state["target.evs"].float()
            self.target_features = state["target.features"].float()
            self.target_hist = state["target.hist"].float()
        self._invalidate()

    def _invalidate(self) -> None:
        self._ref_cache = None
        self._g_cache = None

    def to(self, device: str | torch.device) -> UECMethod:
        super().to(device)
        self.target_evs = self.target_evs.to(self.device)
        self.target_features = self.target_features.to(self.device)
        self.target_hist = self.target_hist.to(self.device)
        self._invalidate()
        return self

    # ------------------------------------------------------------------ targets
    def target_at(self, ev: float | Tensor) -> Tensor:
        """Default-target features at EV offset(s) ``ev``, linearly interpolated; :math:`(K, 96)`.

        Offsets outside the tabulated range (−3 … +3) are clamped to it.
        """
        evs = torch.as_tensor(ev, dtype=torch.float32, device=self.target_evs.device).reshape(-1)
        grid = self.target_evs
        e = evs.clamp(float(grid[0]), float(grid[-1]))
        i = torch.searchsorted(grid, e).clamp(1, len(grid) - 1)
        w = ((e - grid[i - 1]) / (grid[i] - grid[i - 1])).unsqueeze(1)
        return self.target_features[i - 1] * (1 - w) + self.target_features[i] * w

    def reference_features(self) -> Tensor:
        """Features :math:`(1|B, 96)` of the target in use (reference image, or default at ``ev``)."""
        if self._ref_cache is not None:
            return self._ref_cache
        if self.reference is None:
            if abs(self.ev) > 3:
                warnings.warn(f"uec: ev={self.ev} is outside the tabulated -3..+3; clamped", stacklevel=3)
            feats = self.target_at(self.ev)
        else:
            ref = self.reference
            if not isinstance(ref, Tensor):
                from exposurekit.io import read_image
                from exposurekit.ops.convert import array_to_tensor

                ref = array_to_tensor(read_image(ref).rgb)
            check_image_batch(ref)
            ref = resize_height(ref.to(self.device).float(), self.model.encoder.height or ref.shape[-2])
            if self.ev:
                ref = expose(ref, self.ev)
            with torch.no_grad():
                feats = self.model.encode(ref)
        self._ref_cache = feats
        return feats

    # ------------------------------------------------------------------ analysis
    def _g_table(self) -> Tensor:
        if self._g_cache is None:
            with torch.no_grad():
                self._g_cache = self.model.g_table(self.lut_size)
        return self._g_cache

    def _small(self, images: Tensor) -> Tensor:
        h = self.model.encoder.height
        return images if h is None else resize_height(images, h)

    def _run_passes(self, small: Tensor, feats: Tensor, exact: bool) -> tuple[Tensor, Tensor]:
        """Passes on the analysis copy; returns (output, lambdas (B, passes))."""
        table = None if exact else self._g_table()
        return self.model(small, ref_features=feats, table=table, return_lambdas=True)

    def analyze(self, images: Tensor) -> UECState:
        """λ of each pass from a copy at the encoder's height, and the baked lookup table.

        Args:
            images: :math:`(B, 3, H, W)` in [0, 1] (any size: only a copy at height 256 is used).

        Returns:
            :class:`UECState`.
        """
        check_image_batch(images)
        exact = self.path == "exact"
        with torch.no_grad():
            small = self._small(images.to(self.device).float())
            evs = None
            if self.target == "auto" and self.reference is None:
                lams, evs = self._auto(small, exact)
            else:
                _, lams = self._run_passes(small, self.reference_features(), exact)
            lut = None if exact else self.bake(lams)
        return UECState(lams, lut, evs)

    def _auto(self, small: Tensor, exact: bool) -> tuple[Tensor, Tensor]:
        cands = torch.tensor(AUTO_EVS, device=self.device) + self.ev
        feats = self.target_at(cands)  # (K, 96)
        k = len(cands)
        lams_out, evs_out = [], []
        for img in small:
            rep = img.unsqueeze(0).expand(k, -1, -1, -1)
            out, lams = self._run_passes(rep, feats, exact)
            d = _w1(luminance_histogram(out), self.target_hist)
            j = int(d.argmin())
            lams_out.append(lams[j])
            evs_out.append(cands[j])
        return torch.stack(lams_out), torch.stack(evs_out)

    def bake(self, lambdas: Tensor) -> Tensor:
        """Bake the passes with these λs into lookup tables :math:`(B, 3, N, N, N)` (``[c, b, g, r]``)."""
        n = self.lut_size
        p = colour_grid(n, self.device).unsqueeze(0).expand(lambdas.shape[0], -1, -1)
        with torch.no_grad():
            for k in range(lambdas.shape[1]):
                p = self.model.step_points(p, lambdas[:, k].view(-1, 1, 1))
        return p.transpose(1, 2).reshape(-1, 3, n, n, n)

    # ------------------------------------------------------------------ application
    def _resolve_path(self, images: Tensor) -> str:
        if self.path != "auto":
            return self.path
        return "lut8" if images.shape[-1] * images.shape[-2] >= LUT8_PIXELS else "lut"

    def apply(self, images: Tensor, state: UECState) -> Tensor:
        """Map full-resolution pixels with the per-image colour map in ``state``.

        Args:
            images: :math:`(B, 3, H, W)` in [0, 1].
            state: from :meth:`analyze` on the same images (or a reduced copy of them).

        Returns:
            :math:`(B, 3, H, W)` in [0, 1].
        """
        path = self._resolve_path(images)
        if path == "exact" or state.lut is None:
            return self._apply_exact(images, state.lambdas)
        if path == "lut":
            return lookup(state.lut, images).clamp(0, 1)
        return torch.cat([_u8_to_tensor(self._pillow_lut(_tensor_to_u8_planes(x), lut))
                          for x, lut in zip(images, state.lut)]).to(images.device)

    def _apply_exact(self, images: Tensor, lambdas: Tensor) -> Tensor:
        out = torch.empty_like(images)
        b, _, h, w = images.shape
        rows = max(1, _EXACT_CHUNK // max(w, 1))
        with torch.no_grad():
            for i in range(b):
                for y in range(0, h, rows):
                    x = images[i:i + 1, :, y:y + rows]
                    for k in range(lambdas.shape[1]):
                        x = self.model.step(x, lambdas[i:i + 1, k])
                    out[i:i + 1, :, y:y + rows] = x
        return out

    def _pillow_lut(self, image: Any, lut: Tensor) -> Any:
        """Apply one baked table to a Pillow RGB image (8 bit, trilinear, in C)."""
        from PIL import ImageFilter

        n = lut.shape[-1]
        table = lut.permute(1, 2, 3, 0).detach().cpu().numpy().astype(np.float32)  # (b, g, r, 3)
        return image.filter(ImageFilter.Color3DLUT(n, table))

    def correct(self, images: Tensor) -> Tensor:
        """Correct a batch (see :class:`~exposurekit.methods.base.Method`).

        Args:
            images: :math:`(B, 3, H, W)` float RGB in [0, 1].

        Returns:
            :math:`(B, 3, H, W)` in [0, 1].
        """
        check_image_batch(images)
        with torch.no_grad():
            return self.apply(images, self.analyze(images)).clamp(0, 1)

    def correct_array(self, image: np.ndarray) -> np.ndarray:
        """Correct one ``(H, W, 3)`` image; 8-bit images take the Pillow lookup-table path (no float copy).

        ``path="exact"`` and 16-bit/float images use the generic tiled path of the base class.
        """
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        if image.dtype != np.uint8 or self.path == "exact":
            return super().correct_array(image)
        from PIL import Image

        state = self.analyze(self._small_from_u8(image))
        assert state.lut is not None
        return np.asarray(self._pillow_lut(Image.fromarray(np.ascontiguousarray(image), "RGB"), state.lut[0]))

    def _small_from_u8(self, image: np.ndarray) -> Tensor:
        """Float :math:`(1, 3, h, w)` copy at the encoder's height, area-averaged in OpenCV from uint8."""
        import cv2

        from exposurekit.ops.convert import array_to_tensor

        h, w = image.shape[:2]
        th = self.model.encoder.height
        if th is not None and h > th:
            small = cv2.resize(image, (max(1, round(w * th / h)), th), interpolation=cv2.INTER_AREA)
        else:
            small = image
        return array_to_tensor(small, self.device)

    # ------------------------------------------------------------------ training
    def fit(self, data: str | Path | Sequence[str | Path] | None = None, config: str | Path | None = None,
            run_dir: str | Path = "runs/uec", resume: bool = False, progress: bool = True,
            **overrides: Any) -> Any:
        """Train on real brackets (+ sequences synthesized from clean photos); held-out scenes are never used.

        Args:
            data: bracket folders (any layout of :func:`exposurekit.data.brackets.load_brackets`), or the
                shared data root (``../shared/data``: SICE, MEF, DeepFuse, MEFB, and its ``clean_*``
                photos for synthesis). ``None`` uses the shared data root next to the checkout.
            config: YAML file of :class:`~exposurekit.train.TrainConfig` settings; UEC settings go under
                ``extra`` (see :data:`exposurekit.methods.uec.TRAIN_DEFAULTS`).
            run_dir: folder for checkpoints, ``history.json``, ``losses.png``, ``config.yaml``, ``uec.safetensors``.
            resume: continue from ``run_dir/last.pt``.
            progress: show the progress bar.
            **overrides: settings overriding the file (``epochs=…``, ``extra={...}``).

        Returns:
            :class:`~exposurekit.train.TrainResult`; ``extra["weights"]`` is the saved weights file.
        """
        return _fit(self, data, config, run_dir, resume, progress, **overrides)

    def modules(self) -> Iterator[torch.nn.Module]:
        yield self.model


def _tensor_to_u8_planes(x: Tensor) -> Any:
    """One :math:`(3, H, W)` float image to a Pillow RGB image without an HWC float copy."""
    from PIL import Image

    a = x.detach().cpu().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()
    return Image.merge("RGB", [Image.fromarray(a[c]) for c in range(3)])


def _u8_to_tensor(image: Any) -> Tensor:
    a = np.asarray(image)
    return torch.from_numpy(a.copy()).permute(2, 0, 1).unsqueeze(0).float().div_(255)
