"""NIQE, the Naturalness Image Quality Evaluator (Mittal, Soundararajan & Bovik, IEEE SPL 2013).

Written from the paper's definition:

1. grey image :math:`I` on the 0-255 scale; MSCN coefficients
   :math:`\\hat I = (I - \\mu) / (\\sigma + 1)` with :math:`\\mu, \\sigma` the local mean and deviation
   under a 7×7 Gaussian window (:math:`\\sigma_w = 7/6`);
2. the image is cut into P×P patches (P = 96) at two scales (native and half size); per patch and scale,
   18 features: the generalised-Gaussian fit (shape, variance) of the MSCN coefficients and the
   asymmetric-generalised-Gaussian fit (shape, mean, left variance, right variance) of the products of
   horizontally, vertically and both diagonally neighbouring coefficients — 36 features per patch;
3. the *pristine model* is a multivariate Gaussian :math:`(\\nu_1, \\Sigma_1)` fitted to the features of the
   sharpest patches (mean :math:`\\sigma` above 0.75 of the image's sharpest patch) of a corpus of
   natural, undistorted photographs;
4. a test image's patches (all of them) give :math:`(\\nu_2, \\Sigma_2)` and
   :math:`\\mathrm{NIQE} = \\sqrt{(\\nu_1-\\nu_2)^T ((\\Sigma_1+\\Sigma_2)/2)^{+} (\\nu_1-\\nu_2)}` (lower is more natural).

The pristine model shipped in ``exposurekit/weights/niqe_pristine.safetensors`` was fitted **by this
project** with :func:`fit_niqe_model` on the clean photographs in ``../shared/data/clean_*`` (Kodak24 crops,
scikit-image samples, Debian wallpapers; long side capped at 1024), not on the authors' 125-image corpus,
so absolute values differ from MATLAB/pyiqa NIQE; rankings are what to read. The half-size scale uses
antialiased bicubic resizing (torch) instead of MATLAB ``imresize``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import gamma as gamma_fn
from torch import Tensor

__all__ = ["NIQEModel", "fit_niqe_model", "niqe", "niqe_patch_features"]

PATCH = 96
SHARPNESS_FRACTION = 0.75
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "weights" / "niqe_pristine.safetensors"

_ALPHAS = np.arange(0.2, 10.0, 0.001)
_GGD_RHO = gamma_fn(1 / _ALPHAS) * gamma_fn(3 / _ALPHAS) / gamma_fn(2 / _ALPHAS) ** 2
_AGGD_R = gamma_fn(2 / _ALPHAS) ** 2 / (gamma_fn(1 / _ALPHAS) * gamma_fn(3 / _ALPHAS))


def _gaussian_kernel(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def mscn(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MSCN coefficients and local deviation field of a 0-255 grey image ``(H, W)``."""
    from scipy.ndimage import correlate

    k = _gaussian_kernel()
    mu = correlate(grey, k, mode="nearest")
    var = correlate(grey * grey, k, mode="nearest") - mu * mu
    sigma = np.sqrt(np.abs(var))
    return (grey - mu) / (sigma + 1.0), sigma


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """Moment-matching fit of a zero-mean generalised Gaussian: ``(shape, variance)``."""
    x = x.ravel()
    var = float(np.mean(x * x))
    e_abs = float(np.mean(np.abs(x)))
    rho = var / max(e_abs * e_abs, 1e-12)
    return float(_ALPHAS[np.argmin(np.abs(_GGD_RHO - rho))]), var


def fit_aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Moment-matching fit of an asymmetric GGD (Lasmar et al. 2009): ``(shape, mean, var_l, var_r)``."""
    x = x.ravel()
    left, right = x[x < 0], x[x > 0]
    var_l = float(np.mean(left * left)) if left.size else 0.0
    var_r = float(np.mean(right * right)) if right.size else 0.0
    s_l, s_r = np.sqrt(var_l), np.sqrt(var_r)
    g = s_l / s_r if s_r > 0 else 1.0
    r_hat = float(np.mean(np.abs(x))) ** 2 / max(float(np.mean(x * x)), 1e-12)
    big_r = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    a = float(_ALPHAS[np.argmin(np.abs(_AGGD_R - big_r))])
    scale = np.sqrt(gamma_fn(1 / a) / gamma_fn(3 / a))
    mean = (s_r * scale - s_l * scale) * gamma_fn(2 / a) / gamma_fn(1 / a)
    return a, float(mean), var_l, var_r


def _features_one_scale(coeffs: np.ndarray, sigma: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = coeffs.shape
    feats, sharp = [], []
    for y in range(0, h - p + 1, p):
        for x in range(0, w - p + 1, p):
            c = coeffs[y : y + p, x : x + p]
            f = list(fit_ggd(c))
            for prod in (c[:, :-1] * c[:, 1:], c[:-1, :] * c[1:, :], c[:-1, :-1] * c[1:, 1:], c[:-1, 1:] * c[1:, :-1]):
                f.extend(fit_aggd(prod))
            feats.append(f)
            sharp.append(float(sigma[y : y + p, x : x + p].mean()))
    return np.asarray(feats, dtype=np.float64).reshape(-1, 18), np.asarray(sharp)


def _grey255(image: Tensor) -> np.ndarray:
    """(3|1, H, W) [0,1] -> (H, W) float64 0-255 grey (Rec. 601), quantised to 8-bit codes like a JPEG."""
    x = image.detach().float().clamp(0, 1).cpu()
    g = x[0] if x.shape[0] == 1 else 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    return np.round(g.numpy().astype(np.float64) * 255.0)


def niqe_patch_features(image: Tensor, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """36 NIQE features for every P×P patch of one image, and each patch's sharpness.

    Args:
        image: :math:`(3, H, W)` or :math:`(1, H, W)` in [0, 1], at least ``patch`` pixels per side.
        patch: patch size P at the native scale (P/2 at half scale).

    Returns:
        ``(features (N, 36), sharpness (N,))``.
    """
    grey = _grey255(image)
    h, w = grey.shape
    h, w = (h // patch) * patch, (w // patch) * patch
    if h == 0 or w == 0:
        raise ValueError(f"NIQE needs images of at least {patch}x{patch}, got {tuple(grey.shape)}")
    grey = grey[:h, :w]
    c1, s1 = mscn(grey)
    f1, sharp = _features_one_scale(c1, s1, patch)
    half = F.interpolate(torch.from_numpy(grey)[None, None], size=(h // 2, w // 2), mode="bicubic",
                         align_corners=False, antialias=True)[0, 0].numpy()
    c2, s2 = mscn(half)
    f2, _ = _features_one_scale(c2, s2, patch // 2)
    return np.concatenate([f1, f2], axis=1), sharp


@dataclass
class NIQEModel:
    """Multivariate Gaussian of pristine patch features.

    Attributes:
        mean: :math:`(36,)`.
        cov: :math:`(36, 36)`.
        patch: patch size the model was fitted with.
        info: how and on what the model was fitted.
    """

    mean: np.ndarray
    cov: np.ndarray
    patch: int = PATCH
    info: str = ""

    def save(self, path: str | Path) -> Path:
        """Write the model as ``.safetensors`` (float64 tensors + JSON metadata)."""
        from exposurekit.models.serialization import save_state

        return save_state(path, {"mean": torch.from_numpy(self.mean), "cov": torch.from_numpy(self.cov)},
                          {"patch": self.patch, "info": self.info})

    @classmethod
    def load(cls, path: str | Path | None = None) -> NIQEModel:
        """Load a saved model; ``None`` loads the shipped one."""
        from exposurekit.models.serialization import load_state

        state, meta = load_state(path or DEFAULT_MODEL)
        return cls(state["mean"].double().numpy(), state["cov"].double().numpy(), int(meta.get("patch", PATCH)),
                   str(meta.get("info", "")))


def fit_niqe_model(images: list[Tensor], patch: int = PATCH, sharpness_fraction: float = SHARPNESS_FRACTION,
                   info: str = "") -> NIQEModel:
    """Fit the pristine MVG on the sharpest patches of natural, undistorted photographs.

    Args:
        images: list of :math:`(3, H, W)` tensors in [0, 1].
        patch: patch size.
        sharpness_fraction: keep patches whose mean local deviation exceeds this fraction of the
            sharpest patch of the same image (0.75 in the paper).
        info: free text stored with the model.
    """
    kept = []
    for im in images:
        f, s = niqe_patch_features(im, patch)
        if len(s):
            kept.append(f[s > sharpness_fraction * s.max()])
    feats = np.concatenate(kept)
    if len(feats) < 37:
        raise ValueError(f"need more than 36 pristine patches to fit the covariance, got {len(feats)}")
    return NIQEModel(feats.mean(0), np.cov(feats, rowvar=False), patch, info)


_CACHE: dict[str, NIQEModel] = {}


def niqe(images: Tensor, model: NIQEModel | str | Path | None = None) -> Tensor:
    """NIQE score per image (lower = closer to the pristine model).

    Args:
        images: :math:`(B, 3, H, W)` in [0, 1], each side at least 96 (better: ≥ 384).
        model: a :class:`NIQEModel`, a path to one, or ``None`` for the shipped model (see module docstring).

    Returns:
        :math:`(B,)` float32.
    """
    if not isinstance(model, NIQEModel):
        key = str(model or DEFAULT_MODEL)
        if key not in _CACHE:
            _CACHE[key] = NIQEModel.load(model)
        model = _CACHE[key]
    if images.ndim != 4:
        raise ValueError(f"expected (B, C, H, W), got {tuple(images.shape)}")
    scores = []
    for im in images:
        f, _ = niqe_patch_features(im, model.patch)
        mu = f.mean(0)
        cov = np.cov(f, rowvar=False) if len(f) > 1 else np.zeros_like(model.cov)
        d = model.mean - mu
        scores.append(float(np.sqrt(max(d @ np.linalg.pinv((model.cov + cov) / 2) @ d, 0.0))))
    return torch.tensor(scores, dtype=torch.float32)
