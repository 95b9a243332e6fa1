"""Guidance for the CLIP-guided methods (CLIP-LIT, CLIP-LIT-Latent, RAVE), as one pluggable part.

* image encoders: CLIP (:mod:`.clip`), a differentiable exposure embedding (:mod:`.exposure_embedding`),
  the UEC exposure encoder (:mod:`.encoders`);
* guidance losses: residual vector (:mod:`.residual`), learned prompts / latent vectors (:mod:`.prompts`);
* the identity loss and its stand-ins (:mod:`.identity`); training data and the embedding cache (:mod:`.data`).

``transformers`` is imported only when a CLIP model is loaded.
"""

from __future__ import annotations

from exposurekit.guidance.clip import (
    CLIP_MEAN,
    CLIP_STD,
    ClipGuide,
    ClipLoadError,
    clip_preprocess,
    load_clip,
)
from exposurekit.guidance.data import ImageSet, folder_embeddings, load_image_set
from exposurekit.guidance.encoders import ENCODERS, UECEncoder, build_encoder, parse_encoder_spec
from exposurekit.guidance.exposure_embedding import ExposureEmbedding, feature_names
from exposurekit.guidance.identity import IDENTITY_KINDS, IdentityLoss, pyramid_features
from exposurekit.guidance.prompts import (
    BACKLIT,
    WELL_LIT,
    LatentPrompts,
    PromptLearner,
    backlit_probability,
    prompt_logits,
    ranking_loss,
)
from exposurekit.guidance.residual import (
    Residual,
    residual_loss,
    residual_vector,
    shift_residual,
    token_scores,
    vocabulary_embeddings,
)

__all__ = [
    "BACKLIT",
    "CLIP_MEAN",
    "CLIP_STD",
    "ENCODERS",
    "IDENTITY_KINDS",
    "WELL_LIT",
    "ClipGuide",
    "ClipLoadError",
    "ExposureEmbedding",
    "IdentityLoss",
    "ImageSet",
    "LatentPrompts",
    "PromptLearner",
    "Residual",
    "UECEncoder",
    "backlit_probability",
    "build_encoder",
    "clip_preprocess",
    "feature_names",
    "folder_embeddings",
    "load_clip",
    "load_image_set",
    "parse_encoder_spec",
    "prompt_logits",
    "pyramid_features",
    "ranking_loss",
    "residual_loss",
    "residual_vector",
    "shift_residual",
    "token_scores",
    "vocabulary_embeddings",
]
