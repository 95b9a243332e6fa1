"""No-reference training losses, one module per method family."""

from __future__ import annotations

from exposurekit.losses.zerodce import (
    ZeroDCELoss,
    ZeroDCELossWeights,
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    spatial_consistency_loss,
)

__all__ = [
    "ZeroDCELoss",
    "ZeroDCELossWeights",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "spatial_consistency_loss",
]
