"""Multi-exposure fusion (Mertens et al. 2007): an OpenCV reference and a differentiable torch version."""

from __future__ import annotations

from exposurekit.fusion.mertens import mertens_fusion, mertens_weights
from exposurekit.fusion.opencv import mertens_opencv

__all__ = ["mertens_fusion", "mertens_opencv", "mertens_weights"]
