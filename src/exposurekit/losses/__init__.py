"""No-reference training losses, one module per method family."""

from __future__ import annotations

from exposurekit.losses.uec import UECLossWeights, monotonic_loss, restoration_loss, total_variation
from exposurekit.losses.zerodce import (
    ZeroDCELoss,
    ZeroDCELossWeights,
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    spatial_consistency_loss,
)

__all__ = [
    "UECLossWeights",
    "monotonic_loss",
    "restoration_loss",
    "total_variation",
    "ZeroDCELoss",
    "ZeroDCELossWeights",
    "color_constancy_loss",
    "exposure_control_loss",
    "illumination_smoothness_loss",
    "spatial_consistency_loss",
]
