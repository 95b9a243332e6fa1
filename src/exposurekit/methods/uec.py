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
from contextlib import contextmanager
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
from exposurekit.ops.color import expose, luminance
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
        steep_lut_size: table side used instead when the colour map is steep (a grey-axis slope above
            ``steep_slope``, typical of strongly brightened dark photos), where 33³ interpolation errs
            by a few 8-bit levels. ``None`` keeps ``lut_size``.
        steep_slope: see ``steep_lut_size``.
        photo_lut_size: table side for 8-bit images in ``correct_array`` (the CLI path). On photographs
            Pillow's cost barely depends on the table size (neighbouring pixels hit the same cells), and
            65³ keeps the error within 1 level where 33³ leaves a few 2-level pixels.
        table_size: side of the cached table of ``g`` used for the analysis passes and for baking.
        height: encoder input height.
        passes: correction passes.
        anchor_black: ``g(x) = h(x) − h(0)`` so black stays black (see :mod:`exposurekit.models.uec`).
        exact_bake: evaluate the network at every table node when baking (slower, see :meth:`bake`).
        threads: torch threads used inside ``correct``/``correct_array`` (restored afterwards); the
            network is tiny and extra OpenMP threads only contend on a busy machine. ``0`` keeps
            torch's setting.
    """

    trainable = True
    pixelwise = True
    default_weights = "uec.safetensors"

    def __init__(self, reference: str | Path | Tensor | None = None, ev: float | None = None,
                 target: str = "default", path: str = "auto", lut_size: int = 33,
                 steep_lut_size: int | None = 65, steep_slope: float = 3.0, photo_lut_size: int = 65,
                 table_size: int = 65,
                 height: int = 256,
                 passes: int = 3, anchor_black: bool = True, exact_bake: bool = False,
                 threads: int = 1) -> None:
        super().__init__()
        if path not in ("auto", "lut", "lut8", "exact"):
            raise ValueError(f"path must be 'auto', 'lut', 'lut8' or 'exact', got {path!r}")
        if target not in ("default", "auto"):
            raise ValueError(f"target must be 'default' or 'auto', got {target!r}")
        for v in (lut_size, steep_lut_size or lut_size, photo_lut_size):
            if not 2 <= int(v) <= 65:
                raise ValueError(f"lut_size must be in 2..65 (Pillow's limit), got {v}")
        self.model = UEC(height=height, passes=passes, anchor_black=anchor_black)
        if isinstance(reference, (str, Path)) and not Path(reference).is_file():
            raise FileNotFoundError(f"reference image not found: {reference}")
        self._reference = reference
        self._ev = 0.0 if ev is None else float(ev)
        self.target = target
        self.path = path
        self.lut_size = int(lut_size)
        self.steep_lut_size = None if steep_lut_size is None else int(steep_lut_size)
        self.steep_slope = float(steep_slope)
        self.photo_lut_size = int(photo_lut_size)
        self.table_size = int(table_size)
        self.exact_bake = bool(exact_bake)
        self.threads = int(threads)
        # Default target stored with the weights (filled by training or load_weights).
        self.target_evs = torch.tensor(TARGET_EVS)
        self.target_features = torch.zeros(len(TARGET_EVS), 96)
        self.target_hist = torch.full((HIST_BINS,), 1.0 / HIST_BINS)
        self._ref_cache: Tensor | None = None
        self._g_cache: Tensor | None = None

    @property
    def ev(self) -> float:
        """Exposure offset in stops relative to the target (settable)."""
        return self._ev

    @ev.setter
    def ev(self, value: float | None) -> None:
        self._ev = 0.0 if value is None else float(value)
        self._ref_cache = None

    @property
    def reference(self) -> str | Path | Tensor | None:
        """The reference image (path or tensor), or ``None`` for the default target (settable)."""
        return self._reference

    @reference.setter
    def reference(self, value: str | Path | Tensor | None) -> None:
        self._reference = value
        self._ref_cache = None

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
                self._g_cache = self.model.g_table(self.table_size)
        return self._g_cache

    def _small(self, images: Tensor) -> Tensor:
        """The analysis copy at the encoder's height, antialiased (box pre-averaging for big images)."""
        h = self.model.encoder.height
        if h is None or images.shape[-2] == h:
            return images
        k = images.shape[-2] // (2 * h)
        if k >= 2:  # box-average by an integer factor first (cheap), then the antialiased resize
            images = torch.nn.functional.avg_pool2d(images, k, ceil_mode=True, count_include_pad=False)
        return resize_height(images, h)

    def _run_passes(self, small: Tensor, feats: Tensor, exact: bool) -> tuple[Tensor, Tensor]:
        """Passes on the analysis copy; returns (output, lambdas (B, passes))."""
        table = None if exact else self._g_table()
        return self.model(small, ref_features=feats, table=table, return_lambdas=True)

    def analyze(self, images: Tensor, lut_size: int | None = None) -> UECState:
        """λ of each pass from a copy at the encoder's height, and the baked lookup table.

        Args:
            images: :math:`(B, 3, H, W)` in [0, 1] (any size: only a copy at height 256 is used).
            lut_size: table side (``None``: ``lut_size``, or ``steep_lut_size`` for steep maps).

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
            lut = None if exact else self.bake(lams, size=lut_size)
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

    def max_slope(self, lambdas: Tensor) -> Tensor:
        """Largest slope :math:`(B,)` of the colour map along the grey axis (output levels per input level)."""
        ramp = torch.linspace(0, 1, 256, device=self.device).view(1, 1, 1, 256).expand(lambdas.shape[0], 3, 1, 256)
        y = ramp
        for k in range(lambdas.shape[1]):
            lam = lambdas[:, k].view(-1, 1, 1, 1)
            y = (y + lam * (lookup(self._g_table(), y) - y)).clamp(0, 1)
        return (y[..., 1:] - y[..., :-1]).abs().amax(dim=(1, 2, 3)) * 255

    def bake(self, lambdas: Tensor, exact: bool | None = None, size: int | None = None) -> Tensor:
        """Bake the passes with these λs into lookup tables :math:`(B, 3, N, N, N)` (``[c, b, g, r]``).

        Args:
            lambdas: :math:`(B, passes)`.
            exact: evaluate the network at every node of every pass (``N³`` evaluations per pass);
                otherwise ``g`` comes from the cached table of ``g`` by trilinear lookup, which costs
                almost nothing. ``None`` uses :attr:`exact_bake`.
            size: table side; ``None`` picks ``lut_size``, or ``steep_lut_size`` for steep maps.
        """
        n = size or self.lut_size
        if size is None and self.steep_lut_size and float(self.max_slope(lambdas).max()) > self.steep_slope:
            n = self.steep_lut_size
        exact = self.exact_bake if exact is None else exact
        b = lambdas.shape[0]
        p = colour_grid(n, self.device).unsqueeze(0).expand(b, -1, -1)
        passes = lambdas.shape[1]
        with torch.no_grad():
            for k in range(passes):
                lam = lambdas[:, k].view(-1, 1, 1)
                if exact:
                    g = self.model.corrector.forward_points(p)
                    if self.model.anchor_black:
                        g = g - self.model.corrector.forward_points(p.new_zeros(1, 3))
                else:
                    img = p.transpose(1, 2).reshape(b, 3, n * n, n)  # the nodes as a (B, 3, n², n) image
                    g = lookup(self._g_table(), img).reshape(b, 3, -1).transpose(1, 2)
                    # g outside [0, 1]³ is not needed: intermediate passes are clamped below
                p = p + lam * (g - p)
                if k < passes - 1:
                    p = p.clamp(0, 1)
        # The last clamp is left to the lookup (torch clamps after interpolating, Pillow clips): the
        # table keeps the unclamped linear continuation, so the kink where colours saturate is exact
        # instead of being smeared over a table cell (max error on real photos 3 → 1 level).
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
        with torch.no_grad(), _torch_threads(self.threads):
            return self.apply(images, self.analyze(images)).clamp(0, 1)

    def correct_array(self, image: np.ndarray) -> np.ndarray:
        """Correct one ``(H, W, 3)`` image; 8-bit images take the Pillow lookup-table path (no float copy).

        ``path="exact"`` and 16-bit/float images use the generic tiled path of the base class (with the
        float table for ``path="auto"``, so 16-bit precision is kept).
        """
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        if image.dtype != np.uint8 or self.path == "exact":
            path = self.path
            if path == "auto":  # 16-bit / float data must not pass through the 8-bit table
                self.path = "lut"
            try:
                with _torch_threads(self.threads):
                    return super().correct_array(image)
            finally:
                self.path = path
        from PIL import Image

        with _torch_threads(self.threads):
            state = self.analyze(self._small_from_u8(image), lut_size=self.photo_lut_size)
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


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads (``0``: unchanged), restoring the previous setting."""
    old = torch.get_num_threads()
    if n <= 0 or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _tensor_to_u8_planes(x: Tensor) -> Any:
    """One :math:`(3, H, W)` float image in [0, 1] to a Pillow RGB image (rounded), with no HWC float copy.

    OpenCV's saturating conversion is used: it is several times faster than torch's on a busy machine.
    """
    import cv2
    from PIL import Image

    _, h, w = x.shape
    a = np.ascontiguousarray(x.detach().cpu().float().numpy()).reshape(3 * h, w)
    u = cv2.convertScaleAbs(a, alpha=255.0).reshape(3, h, w)
    return Image.merge("RGB", [Image.fromarray(u[c]) for c in range(3)])


def _u8_to_tensor(image: Any) -> Tensor:
    """A Pillow RGB image to a :math:`(1, 3, H, W)` float tensor in [0, 1]."""
    import cv2

    planes = cv2.split(np.asarray(image))
    out = torch.empty(1, 3, *planes[0].shape)
    view = out.numpy()
    for c, p in enumerate(planes):
        cv2.multiply(p, 1.0 / 255, dst=view[0, c], dtype=cv2.CV_32F)
    return out


# ====================================================================== training
TRAIN_DEFAULTS: dict[str, Any] = {
    "restoration_weight": 1.0,
    "monotonic_weight": 1.0,
    "tv_weight": 0.1,
    "side": 256,
    "synth_fraction": 0.3,
    "synth_ev_range": 3.0,
    "min_ev_gap": 0.5,
    "table_size": 33,
    "betas": [0.9, 0.999],
    "probe_pairs": 16,
    "target_refs": 64,
    "dataset_balance": 1.0,
}
"""UEC settings under ``extra`` in the training config (defaults).

* ``restoration_weight``, ``monotonic_weight``, ``tv_weight``: loss weights (1, 1, 0.1 as in the paper).
* ``side``: frames are stored with their short side resized (antialiased) to this; crops of
  ``config.crop`` are cut from them, the same window in both frames of a pair.
* ``synth_fraction``: share of pairs synthesized on the fly from clean photos (gain ``2**ev`` in linear
  light, EVs uniform in ±``synth_ev_range``, at least ``min_ev_gap`` apart).
* ``table_size``: ``g`` is evaluated through a differentiable ``table_size``³ lookup table during
  training (a few thousand network evaluations per step instead of one per pixel; ``null`` = exact).
* ``betas``: Adam betas. ``probe_pairs``: fixed training pairs scored after each epoch (``probe_mse``).
* ``dataset_balance``: a dataset with ``n`` training scenes is drawn with probability ∝ ``n**dataset_balance``
  (then a scene uniformly within it): 1 = every scene equally likely (SICE, with two thirds of the scenes,
  dominates), 0 = every dataset equally likely.
* ``target_refs``: at most this many well-exposed images (the best-exposed frame of each training
  bracket and the clean photos, evenly spaced) define the default target after training.
"""

CONFIG_DEFAULTS: dict[str, Any] = {"epochs": 12, "steps_per_epoch": 100, "lr": 5e-4, "batch_size": 4,
                                   "crop": 256, "threads": 1}
"""Defaults of the general training settings for UEC (a config file or flags override them)."""


def default_data_root() -> Path:
    """``$EXPOSUREKIT_SHARED/data`` or ``../shared/data`` next to the checkout."""
    import os

    env = os.environ.get("EXPOSUREKIT_SHARED")
    if env:
        return Path(env) / "data"
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


class _Pool:
    """Training frames in memory as uint8 ``(N, 3, H, W)`` tensors: real brackets and clean photos."""

    def __init__(self, sequences: list[Tensor], clean: list[Tensor], names: list[str]) -> None:
        self.sequences, self.clean, self.names = sequences, clean, names
        self._probs: dict[float, np.ndarray] = {}

    def scene_probs(self, balance: float) -> np.ndarray:
        """Probability of each sequence when a dataset is drawn ∝ ``n_scenes**balance``, then a scene in it."""
        if balance not in self._probs:
            datasets = [n.split("/", 1)[0] for n in self.names]
            counts = {d: datasets.count(d) for d in set(datasets)}
            w = np.array([counts[d] ** balance / counts[d] for d in datasets], dtype=np.float64)
            self._probs[balance] = w / w.sum()
        return self._probs[balance]


def _short_side(x: Tensor, side: int) -> Tensor:
    h, w = x.shape[-2:]
    s = side / min(h, w)
    from exposurekit.ops.resize import resize_to

    return resize_to(x, (max(side, round(h * s)), max(side, round(w * s))))


def _to_u8(x: Tensor) -> Tensor:
    return x.clamp(0, 1).mul(255).round_().to(torch.uint8)


def _collect(data: str | Path | Sequence[str | Path] | None, side: int, log: Any = print) -> _Pool:
    from exposurekit.data.brackets import SHARED_FOLDERS, load_brackets, read_bracket, shared_brackets
    from exposurekit.io import read_image
    from exposurekit.ops.convert import array_to_tensor

    roots = [default_data_root()] if data is None else [data] if isinstance(data, (str, Path)) else list(data)
    brackets, clean_files = [], []
    for root in map(Path, roots):
        if not root.is_dir():
            raise FileNotFoundError(f"training data folder not found: {root}")
        if any((root / f).is_dir() for f in SHARED_FOLDERS.values()):
            brackets += shared_brackets(root)
            for d in sorted(root.glob("clean_*")):
                clean_files += sorted(p for p in d.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        else:
            brackets += load_brackets(root)
    train = [b for b in brackets if not b.held_out]
    log(f"uec: {len(train)} training brackets ({len(brackets) - len(train)} held out, never read), "
        f"{len(clean_files)} clean photos for synthesis")
    import hashlib

    from exposurekit.data.sice import cache_dir

    key = hashlib.sha1(repr((side, [(b.dataset, b.scene, [str(f) for f in b.frames]) for b in train],
                             [str(f) for f in clean_files])).encode()).hexdigest()[:20]
    cache = cache_dir() / f"uec_pool_{key}.pt"
    if cache.is_file():
        try:
            blob = torch.load(cache, weights_only=True)
            log(f"uec: frames loaded from cache {cache}")
            return _Pool(blob["sequences"], blob["clean"], blob["names"])
        except Exception:  # a damaged cache is rebuilt
            pass
    seqs, names = [], []
    for b in train:
        frames = read_bracket(b)
        seqs.append(_to_u8(_short_side(frames, side)))
        names.append(f"{b.dataset}/{b.scene}")
    clean = []
    for f in clean_files:
        try:
            clean.append(_to_u8(_short_side(array_to_tensor(read_image(f).rgb), side))[0])
        except Exception as exc:  # an unreadable photo must not stop training
            warnings.warn(f"uec: skipped {f}: {exc}", stacklevel=2)
    if not seqs and not clean:
        raise ValueError(f"no training data found in {roots}")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({"sequences": seqs, "clean": clean, "names": names}, tmp)
        tmp.replace(cache)
    except OSError:
        pass
    return _Pool(seqs, clean, names)


def _crop_pair(a: Tensor, b: Tensor, crop: int, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    h, w = a.shape[-2:]
    ch, cw = min(crop, h), min(crop, w)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    a, b = a[..., y:y + ch, x:x + cw], b[..., y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        a, b = a.flip(-1), b.flip(-1)
    if (ch, cw) != (crop, crop):
        from exposurekit.ops.resize import resize_to

        a = resize_to(a[None].float(), (crop, crop))[0]
        b = resize_to(b[None].float(), (crop, crop))[0]
    return a, b


def _sample_ordered(pool: _Pool, rng: np.random.Generator, crop: int, extra: dict[str, Any],
                    avoid: int | None = None) -> tuple[Tensor, Tensor, int]:
    """(darker, brighter) crops of one scene, float (3, c, c); returns the scene id (clean: -1-k)."""
    use_synth = pool.clean and (not pool.sequences or rng.random() < extra["synth_fraction"])
    if use_synth:
        k = int(rng.integers(len(pool.clean)))
        base = pool.clean[k].float() / 255
        base, _ = _crop_pair(base, base, crop, rng)
        r, gap = extra["synth_ev_range"], extra["min_ev_gap"]
        while True:
            e = np.sort(rng.uniform(-r, r, 2))
            if e[1] - e[0] >= gap:
                break
        frames = expose(base[None].expand(2, -1, -1, -1), torch.tensor(e, dtype=torch.float32))
        return frames[0], frames[1], -1 - k
    balance = float(extra.get("dataset_balance", 1.0))
    while True:
        s = int(rng.integers(len(pool.sequences))) if balance == 1.0 else \
            int(rng.choice(len(pool.sequences), p=pool.scene_probs(balance)))
        if s != avoid or len(pool.sequences) == 1:
            break
    seq = pool.sequences[s]
    i, j = sorted(rng.choice(len(seq), 2, replace=False).tolist())
    a, b = _crop_pair(seq[i], seq[j], crop, rng)
    return a.float() / 255, b.float() / 255, s


def _batch(pool: _Pool, rng: np.random.Generator, n: int, crop: int, extra: dict[str, Any]) -> dict[str, Tensor]:
    xs, ys, jds, jbs = [], [], [], []
    for _ in range(n):
        dark, bright, s = _sample_ordered(pool, rng, crop, extra)
        x, y = (dark, bright) if rng.random() < 0.5 else (bright, dark)
        jd, jb, _ = _sample_ordered(pool, rng, crop, extra, avoid=s)
        xs.append(x), ys.append(y), jds.append(jd), jbs.append(jb)
    return {"x": torch.stack(xs), "y": torch.stack(ys), "jd": torch.stack(jds), "jb": torch.stack(jbs)}


def uec_losses(model: UEC, batch: dict[str, Tensor], extra: dict[str, Any]) -> dict[str, Tensor]:
    """The three UEC terms and their weighted sum (``"loss"``) for one batch.

    Args:
        model: the network.
        batch: ``x`` (input), ``y`` (the other frame of its scene, also the reference), ``jd``/``jb``
            (darker/brighter frames of another scene), each :math:`(B, 3, c, c)`.
        extra: weights and ``table_size`` (see :data:`TRAIN_DEFAULTS`).
    """
    from exposurekit.losses.uec import monotonic_loss, restoration_loss, total_variation

    x, y, jd, jb = batch["x"], batch["y"], batch["jd"], batch["jb"]
    b = x.shape[0]
    table = model.g_table(int(extra["table_size"])) if extra.get("table_size") else None
    f_ref, f_jd, f_jb = model.encode(torch.cat([y, jd, jb])).split(b)
    f_x = model.encode(x)
    out = x
    for k in range(model.passes):
        f = f_x if k == 0 else model.encode(out)
        out = model.step(out, model.predictor(f, f_ref)[:, 0], table)
    rest = restoration_loss(out, y)
    to_dark = model.step(x, model.predictor(f_x, f_jd)[:, 0], table)
    to_bright = model.step(x, model.predictor(f_x, f_jb)[:, 0], table)
    mono = monotonic_loss(to_dark, to_bright)
    tv = total_variation(out)
    loss = extra["restoration_weight"] * rest + extra["monotonic_weight"] * mono + extra["tv_weight"] * tv
    return {"loss": loss, "restoration": rest.detach(), "monotonic": mono.detach(), "tv": tv.detach()}


def compute_targets(method: UECMethod, references: Sequence[Tensor]) -> None:
    """Fill the default target of ``method`` from well-exposed images.

    ``target_features[k]`` = mean encoder features of the references exposed by ``TARGET_EVS[k]`` stops;
    ``target_hist`` = their mean luminance histogram at EV 0.

    Args:
        method: the method whose network encodes the references.
        references: float images :math:`(1, 3, H, W)` in [0, 1].
    """
    if not references:
        raise ValueError("compute_targets needs at least one reference image")
    model = method.model
    feats = torch.zeros(len(TARGET_EVS), 96)
    hist = torch.zeros(HIST_BINS)
    with torch.no_grad():
        for ref in references:
            small = resize_height(ref.float(), model.encoder.height or ref.shape[-2])
            shifted = expose(small.expand(len(TARGET_EVS), -1, -1, -1), torch.tensor(TARGET_EVS))
            feats += model.encode(shifted).cpu()
            hist += luminance_histogram(small)[0].cpu()
    method.target_evs = torch.tensor(TARGET_EVS)
    method.target_features = feats / len(references)
    method.target_hist = hist / len(references)
    method.to(method.device)


def _fit(method: UECMethod, data: Any, config: str | Path | None, run_dir: str | Path, resume: bool,
         progress: bool, **overrides: Any) -> Any:
    from exposurekit.data.brackets import MID_GREY
    from exposurekit.train import TrainConfig, Trainer, load_config
    from exposurekit.train.trainer import seed_everything

    extra_over = overrides.pop("extra", None) or {}
    cfg = load_config(TrainConfig, None, **{**CONFIG_DEFAULTS, "extra": dict(TRAIN_DEFAULTS)})
    if config is not None:
        file_cfg = load_config(TrainConfig, config)
        import yaml

        given = yaml.safe_load(Path(config).read_text()) or {}
        for k, v in given.items():
            if k == "extra":
                cfg.extra.update(v or {})
            else:
                setattr(cfg, k, getattr(file_cfg, k))
    for k, v in overrides.items():
        if v is not None:
            if not hasattr(cfg, k):
                raise ValueError(f"unknown training setting {k!r}")
            setattr(cfg, k, v)
    unknown = sorted(set(extra_over) - set(TRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown UEC setting(s) {unknown}; known: {sorted(TRAIN_DEFAULTS)}")
    cfg.extra.update(extra_over)
    extra = cfg.extra
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = torch.device(cfg.device)
    method.to(device)
    model = method.model
    model.train()
    log = (lambda *a: None) if not progress else print
    pool = _collect(data, int(extra["side"]), log=log)
    crop = int(cfg.crop or extra["side"])

    def batches(epoch: int) -> Iterator[dict[str, Tensor]]:
        rng = np.random.default_rng([cfg.seed, epoch])
        steps = cfg.steps_per_epoch or max(1, (len(pool.sequences) + len(pool.clean)) // cfg.batch_size)
        for _ in range(steps):
            yield {k: v.to(device) for k, v in _batch(pool, rng, cfg.batch_size, crop, extra).items()}

    probe_rng = np.random.default_rng([cfg.seed, 10**6])
    probe = [_batch(pool, probe_rng, 1, crop, extra) for _ in range(int(extra["probe_pairs"]))]

    def on_epoch_end(epoch: int) -> dict[str, float]:
        with torch.no_grad():
            vals = [float(uec_losses(model, {k: v.to(device) for k, v in b.items()}, extra)["restoration"])
                    for b in probe]
        return {"probe_mse": float(np.mean(vals))}

    betas = tuple(float(b) for b in extra["betas"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=betas)  # type: ignore[arg-type]
    trainer = Trainer({"uec": model}, opt, run_dir, cfg, progress=progress)
    if not resume and trainer.ckpt_path.exists():
        raise FileExistsError(f"{trainer.ckpt_path} exists: pass resume=True (--resume) or another run dir")
    result = trainer.fit(lambda batch, epoch: uec_losses(model, batch, extra), batches,
                         on_epoch_end=on_epoch_end, resume=resume, title="UEC")
    model.eval()
    refs = []
    for seq in pool.sequences:  # the best-exposed frame of every training bracket
        lum = [float(luminance(f[None].float() / 255).mean()) for f in seq]
        refs.append(seq[int(np.argmin([abs(v - MID_GREY) for v in lum]))][None].float().div(255).to(device))
    refs += [c[None].float().div(255).to(device) for c in pool.clean]
    n_refs = int(extra.get("target_refs") or len(refs))
    if len(refs) > n_refs:
        refs = [refs[i] for i in np.linspace(0, len(refs) - 1, n_refs).round().astype(int)]
    compute_targets(method, refs)
    method._invalidate()
    weights = method.save_weights(Path(run_dir) / "uec.safetensors")
    result.extra["weights"] = weights
    result.extra["references"] = len(refs)
    return result
