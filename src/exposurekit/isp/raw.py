"""Render a camera RAW at several exposures through one fixed pipeline (rawpy / LibRaw, the ``[raw]`` extra).

Exposure is changed where a camera changes it: the linear sensor values are multiplied by :math:`2^{EV}`
(above the black level) and clipped at the sensor's white level, *before* the pipeline. The pipeline is
then the same for every frame:

1. LibRaw, with rawpy's default settings except the output stage: white balance (rawpy's default
   multipliers), AHD demosaic, camera → sRGB-primaries colour matrix, linear 16-bit output
   (``gamma=(1, 1)``, ``no_auto_bright=True``, ``output_bps=16``);
2. one brightness gain for the whole sequence: LibRaw's auto-bright rule (the gain that puts the
   99th percentile of the brightest channel at white, ``auto_bright_threshold=0.01``), measured on
   the EV 0 frame and reused for every EV;
3. the transfer curve: ``"bt709"`` (default; the curve rawpy applies by default, gamma 1/2.222 with a
   linear toe of slope 4.5) or ``"srgb"`` (the IEC 61966-2-1 sRGB curve).

For negative EVs the output is also clipped at :math:`2^{EV}` (linear, before the gain): a pixel that was
saturated in the RAW file stays saturated, so it darkens to a neutral grey instead of turning pink when
one clipped channel is scaled down with the others (the recorded data hold no detail there anyway).

So frames differ in exposure only, and EV 0 with ``transfer="bt709"`` reproduces ``rawpy.postprocess()`` with
its defaults (see :func:`compare_with_rawpy` and docs/sequences.md for the measured difference).

Bayer mosaics without metadata (a 16-bit PNG of raw values) go through :func:`render_bayer`: the same
exposure scaling and clipping, grey-world white balance, OpenCV demosaic, an optional colour matrix, and
the same transfer curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from exposurekit.ops.color import linear_to_srgb

__all__ = [
    "RAW_SUFFIXES",
    "auto_bright_gain",
    "bt709_oetf",
    "compare_with_rawpy",
    "encode_transfer",
    "render_bayer",
    "raw_gain",
    "rawpy_default",
    "render_raw",
]

RAW_SUFFIXES = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
    ".pef", ".srw", ".kdc", ".dcr", ".mrw", ".3fr", ".erf", ".mef", ".mos", ".raw", ".rwl", ".iiq", ".x3f",
)
"""File suffixes that :func:`render_raw` hands to rawpy."""

_BT709_ALPHA = 1.09929682680944
_BT709_BETA = 0.018053968510807


def _rawpy():
    try:
        import rawpy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("RAW rendering needs rawpy: pip install exposurekit[raw]") from exc
    return rawpy


def bt709_oetf(x: Tensor) -> Tensor:
    """The transfer curve rawpy/LibRaw apply by default (``gamma=(2.222, 4.5)``), linear [0, 1] → encoded.

    .. math:: V = 4.5 L \\;(L < \\beta), \\qquad V = \\alpha L^{0.45} - (\\alpha - 1) \\;\\text{otherwise}

    Example:
        >>> float(bt709_oetf(torch.tensor(1.0)))
        1.0
    """
    x = x.clamp(0, 1)
    return torch.where(x < _BT709_BETA, 4.5 * x, _BT709_ALPHA * x.clamp_min(1e-12) ** 0.45 - (_BT709_ALPHA - 1))


def encode_transfer(linear: Tensor, transfer: str = "bt709") -> Tensor:
    """Apply ``"bt709"``, ``"srgb"`` or ``"linear"`` to linear values; the output is clipped to [0, 1]."""
    if transfer == "bt709":
        return bt709_oetf(linear)
    if transfer == "srgb":
        return linear_to_srgb(linear)
    if transfer == "linear":
        return linear.clamp(0, 1)
    raise ValueError(f"transfer must be 'bt709', 'srgb' or 'linear', got {transfer!r}")


def auto_bright_gain(linear: Tensor | np.ndarray, threshold: float = 0.01) -> float:
    """LibRaw's auto-bright gain: ``1 / q``, with ``q`` the ``1 - threshold`` quantile of the brightest channel.

    Args:
        linear: linear image ``(3, H, W)`` or ``(H, W, 3)`` in [0, 1].
        threshold: fraction of pixels allowed to clip (LibRaw ``auto_bright_thr``, default 0.01).
    """
    a = linear.detach().cpu().numpy() if isinstance(linear, Tensor) else np.asarray(linear)
    a = a.reshape(3, -1) if a.shape[0] == 3 and a.ndim == 3 else a.reshape(-1, 3).T
    q = max(float(np.quantile(c, 1.0 - threshold)) for c in a)
    return 1.0 / max(q, 1e-6)


def _linear_from_raw(raw, scale: float) -> np.ndarray:
    """Linear 16-bit LibRaw output after scaling sensor values by ``scale`` (clipped at the white level)."""
    original = raw.raw_image.copy()
    try:
        if scale != 1.0:
            black = np.asarray(raw.black_level_per_channel, dtype=np.float64)
            colors = raw.raw_colors
            b = black[colors] if black.size == 4 else float(black.mean())
            scaled = b + (original.astype(np.float64) - b) * scale
            raw.raw_image[:] = np.clip(np.rint(scaled), 0, raw.white_level).astype(original.dtype)
        out = raw.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16)
    finally:
        raw.raw_image[:] = original
    return out


def render_raw(
    path: str | Path,
    evs: Sequence[float] = (-1.5, -1.0, 0.0, 1.0, 1.5),
    transfer: str = "bt709",
    gain: float | None = None,
    auto_bright_threshold: float = 0.01,
) -> tuple[Tensor, dict]:
    """Render one RAW file at each EV.

    Args:
        path: a RAW file rawpy can read (see :data:`RAW_SUFFIXES`).
        evs: exposure offsets in stops, applied to the linear sensor values.
        transfer: ``"bt709"`` (rawpy's default curve), ``"srgb"`` or ``"linear"``.
        gain: brightness gain shared by every frame; ``None`` measures LibRaw's auto-bright gain at EV 0.
        auto_bright_threshold: fraction of EV-0 pixels allowed to clip when ``gain`` is measured.

    Returns:
        ``(frames, info)``: frames ``(N, 3, H, W)`` in [0, 1] in the order of ``evs``; ``info`` records the
        pipeline (gain, transfer, white balance, black/white levels) for the manifest.
    """
    rawpy = _rawpy()
    frames = []
    with rawpy.imread(str(path)) as raw:
        if gain is None:
            gain = _measure_gain(raw, auto_bright_threshold)
        for ev in evs:
            scale = 2.0 ** float(ev)
            lin = _linear_from_raw(raw, scale).astype(np.float32) / 65535.0
            if scale < 1:
                # what was saturated at EV 0 stays saturated (neutral) when darkened, as LibRaw's highlight
                # clip makes it at EV 0; without this, a clipped channel scaled down turns highlights pink.
                lin = np.minimum(lin, scale)
            t = torch.from_numpy(lin).permute(2, 0, 1).unsqueeze(0)
            frames.append(encode_transfer(t * gain, transfer))
        info = {
            "pipeline": "rawpy",
            "rawpy_version": rawpy.__version__,
            "gain": float(gain),
            "transfer": transfer,
            "black_level_per_channel": [int(v) for v in raw.black_level_per_channel],
            "white_level": int(raw.white_level),
            "camera_whitebalance": [float(v) for v in raw.camera_whitebalance],
            "daylight_whitebalance": [float(v) for v in raw.daylight_whitebalance],
            "demosaic": "AHD (LibRaw default)",
        }
    out = torch.cat(frames, 0) if frames else torch.empty(0, 3, 0, 0)
    return out, info


def _measure_gain(raw, threshold: float) -> float:
    lin0 = _linear_from_raw(raw, 1.0).astype(np.float32) / 65535.0
    return auto_bright_gain(lin0, threshold)


def raw_gain(path: str | Path, auto_bright_threshold: float = 0.01) -> float:
    """The brightness gain :func:`render_raw` measures at EV 0 (LibRaw's auto-bright rule)."""
    with _rawpy().imread(str(path)) as raw:
        return _measure_gain(raw, auto_bright_threshold)


def rawpy_default(path: str | Path) -> Tensor:
    """``rawpy.imread(path).postprocess()`` with every default, as a ``(1, 3, H, W)`` tensor in [0, 1]."""
    rawpy = _rawpy()
    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess()
    return torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


def compare_with_rawpy(path: str | Path) -> dict[str, float]:
    """Difference, in 8-bit levels, between :func:`render_raw` at EV 0 and rawpy's default postprocess.

    Returns:
        ``{"mean_abs": ..., "p99_abs": ..., "max_abs": ..., "gain": ...}`` (levels of 255).
    """
    ours, info = render_raw(path, evs=(0.0,))
    ref = rawpy_default(path)
    diff = ((ours * 255).round() - ref * 255).abs()
    return {
        "mean_abs": float(diff.mean()),
        "p99_abs": float(torch.quantile(diff.flatten()[:: max(1, diff.numel() // 1_000_000)], 0.99)),
        "max_abs": float(diff.max()),
        "gain": info["gain"],
    }


_CV_BAYER = {
    # OpenCV names a pattern by the second row's second and third pixels; map from the top-left 2x2 block.
    "RGGB": "COLOR_BayerBG2RGB",
    "BGGR": "COLOR_BayerRG2RGB",
    "GRBG": "COLOR_BayerGB2RGB",
    "GBRG": "COLOR_BayerGR2RGB",
}


def render_bayer(
    mosaic: np.ndarray,
    pattern: str = "GRBG",
    black_level: float = 0.0,
    white_level: float | None = None,
    evs: Sequence[float] = (-1.5, -1.0, 0.0, 1.0, 1.5),
    white_balance: Sequence[float] | None = None,
    color_matrix: np.ndarray | None = None,
    transfer: str = "srgb",
    gain: float | None = None,
    auto_bright_threshold: float = 0.01,
) -> tuple[Tensor, dict]:
    """Render a bare Bayer mosaic (no metadata) at each EV.

    Args:
        mosaic: ``(H, W)`` raw values (e.g. a 16-bit PNG of a sensor crop).
        pattern: colours of the top-left 2×2 block, row by row (``"RGGB"``, ``"GRBG"``, ...).
        black_level: sensor black level, subtracted first.
        white_level: sensor saturation; default the mosaic's maximum.
        evs: exposure offsets in stops, applied to the linear values, which are then clipped at 1.
        white_balance: ``(r, g, b)`` multipliers; default grey world measured at EV 0 (green = 1).
        color_matrix: ``(3, 3)`` camera RGB → linear sRGB; default identity (no colour calibration).
        transfer: ``"srgb"``, ``"bt709"`` or ``"linear"``.
        gain: brightness gain for every frame; ``None`` measures the auto-bright gain at EV 0.
        auto_bright_threshold: fraction of EV-0 pixels allowed to clip when ``gain`` is measured.

    Returns:
        ``(frames, info)`` as in :func:`render_raw`.
    """
    import cv2

    pattern = pattern.upper()
    if pattern not in _CV_BAYER:
        raise ValueError(f"pattern must be one of {tuple(_CV_BAYER)}, got {pattern!r}")
    m = np.asarray(mosaic, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D mosaic, got shape {m.shape}")
    white = float(white_level if white_level is not None else m.max())
    lin = np.clip((m - black_level) / max(white - black_level, 1e-6), 0, 1)
    code = getattr(cv2, _CV_BAYER[pattern])

    def develop(x: np.ndarray, wb: np.ndarray, scale: float = 1.0) -> np.ndarray:
        # the sensor saturates at 1 at EV 0, i.e. at `scale` after the exposure change (values that were
        # clipped in the mosaic stay clipped when darkened)
        sat = min(1.0, scale)
        rgb = cv2.cvtColor((np.clip(x, 0, sat) * 65535).round().astype(np.uint16), code).astype(np.float32) / 65535
        # white balance with the smallest multiplier at 1, then clip at saturation: saturated sensor pixels
        # become neutral (LibRaw's default highlight mode does the same at EV 0).
        rgb = np.clip(rgb * (wb / wb.min()).astype(np.float32), 0, sat)
        if color_matrix is not None:
            rgb = rgb @ np.asarray(color_matrix, dtype=np.float32).T
        return rgb

    if white_balance is None:
        rgb0 = develop(lin, np.ones(3))
        means = rgb0.reshape(-1, 3).mean(0)
        wb = means[1] / np.maximum(means, 1e-6)
        wb = wb / wb.min()
    else:
        wb = np.asarray(white_balance, dtype=np.float64)
    wb = wb / wb.min()
    if gain is None:
        gain = auto_bright_gain(develop(lin, wb), auto_bright_threshold)
    frames = []
    for ev in evs:
        rgb = develop(lin * 2.0 ** float(ev), wb, 2.0 ** float(ev))
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
        frames.append(encode_transfer(t * gain, transfer))
    info = {
        "pipeline": "bayer",
        "pattern": pattern,
        "black_level": float(black_level),
        "white_level": white,
        "white_balance": [float(v) for v in wb],
        "color_matrix": None if color_matrix is None else np.asarray(color_matrix).tolist(),
        "gain": float(gain),
        "transfer": transfer,
        "demosaic": "bilinear (OpenCV)",
    }
    return (torch.cat(frames, 0) if frames else torch.empty(0, 3, *m.shape)), info
