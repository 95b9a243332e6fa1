"""No-reference training losses, one module per method family."""

from __future__ import annotations

from exposurekit.losses.loopexpose import RankingLoss, SSIMLoss, ranking_loss, ssim_loss
from exposurekit.losses.simr import (
    SIMRLoss,
    SIMRLossWeights,
    alignment_loss,
    cosine_loss,
    region_color_loss,
    region_exposure_loss,
)
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
    "RankingLoss",
    "SSIMLoss",
    "ranking_loss",
    "ssim_loss",
    "SIMRLoss",
    "SIMRLossWeights",
    "alignment_loss",
    "cosine_loss",
    "region_color_loss",
    "region_exposure_loss",
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
