"""Multi-exposure sequence synthesis: RAW rendering at several EVs, sRGB unprocessing, dataset writing."""

from __future__ import annotations

from exposurekit.isp.raw import (
    RAW_SUFFIXES,
    auto_bright_gain,
    bt709_oetf,
    compare_with_rawpy,
    encode_transfer,
    raw_gain,
    rawpy_default,
    render_bayer,
    render_raw,
)
from exposurekit.isp.synth import (
    DEFAULT_EVS,
    RADIOMETRIC_EVS,
    SynthSettings,
    ev_name,
    iter_source_frames,
    scene_generator,
    synthesize_dataset,
)
from exposurekit.isp.unprocess import (
    UnprocessParams,
    inverse_smoothstep,
    process,
    render_srgb_evs,
    sample_unprocess_params,
    smoothstep,
    unprocess,
)

__all__ = [
    "DEFAULT_EVS",
    "RADIOMETRIC_EVS",
    "RAW_SUFFIXES",
    "SynthSettings",
    "UnprocessParams",
    "auto_bright_gain",
    "bt709_oetf",
    "compare_with_rawpy",
    "encode_transfer",
    "ev_name",
    "inverse_smoothstep",
    "iter_source_frames",
    "process",
    "raw_gain",
    "rawpy_default",
    "render_bayer",
    "render_raw",
    "render_srgb_evs",
    "sample_unprocess_params",
    "scene_generator",
    "smoothstep",
    "synthesize_dataset",
    "unprocess",
]
