"""Semantic priors for SIMR: one interface (:class:`SemanticPrior`), three backends.

* ``superpixels`` (default, no weights): scikit-image SLIC / Felzenszwalb region features;
* ``fastsam``: a FastSAM ONNX export through onnxruntime (``[onnx]`` extra);
* ``sam``: transformers ``SamModel`` image embeddings (``[clip]`` extra).

Optional packages are imported only when a backend is built (:func:`build_prior`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exposurekit.priors.base import PriorError, PriorOutput, SemanticPrior, labels_to_onehot, region_stats

__all__ = ["PRIORS", "PriorError", "PriorOutput", "SemanticPrior", "build_prior", "labels_to_onehot",
           "region_stats"]

PRIORS = ("none", "superpixels", "fastsam", "sam")


def build_prior(name: str = "superpixels", path: str | Path | None = None, **kwargs: Any) -> SemanticPrior | None:
    """Build a prior by backend name.

    Args:
        name: one of :data:`PRIORS`; ``"none"`` returns ``None``.
        path: the FastSAM ``.onnx`` file or the SAM model folder / hub id.
        **kwargs: backend options.

    Raises:
        ValueError: unknown name, or a model path missing for ``fastsam``/``sam``.
        PriorError: the optional package or model file is missing (one line says which).
    """
    if name == "none":
        return None
    if name == "superpixels":
        from exposurekit.priors.superpixels import SuperpixelPrior

        return SuperpixelPrior(**kwargs)
    if name in ("fastsam", "sam"):
        if path is None:
            raise PriorError(f"the {name} prior needs a model: pass --prior-path "
                             f"({'a FastSAM .onnx export' if name == 'fastsam' else 'a SamModel folder'})")
        if name == "fastsam":
            from exposurekit.priors.fastsam import FastSAMPrior

            return FastSAMPrior(path, **kwargs)
        from exposurekit.priors.sam import SAMPrior

        return SAMPrior(path, **kwargs)
    raise ValueError(f"unknown prior {name!r}; known: {', '.join(PRIORS)}")
