"""Image-quality metrics, one score per image (shape ``(B,)``), shared by every method and benchmark.

Full reference: :func:`psnr`, :func:`ssim`, :func:`delta_e2000`, :func:`edge_f1`.
No reference: :func:`mean_luminance_error`, :func:`clipped_fractions`, :func:`colourfulness`, :func:`niqe`.
:data:`METRICS` records for each name whether lower is better.
"""

from __future__ import annotations

from exposurekit.metrics.edges import canny_edges, edge_f1, edge_prf
from exposurekit.metrics.full_reference import delta_e2000, delta_e2000_lab, psnr, rgb_to_ycbcr_y, ssim
from exposurekit.metrics.niqe import NIQEModel, fit_niqe_model, niqe
from exposurekit.metrics.no_reference import (
    clipped_fractions,
    colourfulness,
    mean_luminance,
    mean_luminance_error,
)

METRICS: dict[str, dict[str, object]] = {
    "psnr": {"lower_better": False, "reference": True, "unit": "dB"},
    "ssim": {"lower_better": False, "reference": True, "unit": ""},
    "delta_e": {"lower_better": True, "reference": True, "unit": "ΔE00"},
    "edge_f1": {"lower_better": False, "reference": True, "unit": ""},
    "lum_err": {"lower_better": True, "reference": False, "unit": ""},
    "shadows": {"lower_better": True, "reference": False, "unit": "fraction"},
    "highlights": {"lower_better": True, "reference": False, "unit": "fraction"},
    "colourfulness": {"lower_better": False, "reference": False, "unit": "Hasler-Süsstrunk"},
    "niqe": {"lower_better": True, "reference": False, "unit": ""},
}
"""Metric names used in reports, with ``lower_better`` (as in pyiqa's default configs)."""

__all__ = [
    "METRICS",
    "NIQEModel",
    "canny_edges",
    "clipped_fractions",
    "colourfulness",
    "delta_e2000",
    "delta_e2000_lab",
    "edge_f1",
    "edge_prf",
    "fit_niqe_model",
    "mean_luminance",
    "mean_luminance_error",
    "niqe",
    "psnr",
    "rgb_to_ycbcr_y",
    "ssim",
]
