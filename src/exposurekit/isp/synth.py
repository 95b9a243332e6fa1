"""Write a multi-exposure sequence dataset to disk: one folder per scene, EV in file names, a manifest.

Layout written by :func:`synthesize_dataset` (and read back by
:func:`exposurekit.data.brackets.load_brackets`, layout ``"sequences"``)::

    DST/
      manifest.json
      <scene>/ev-1.5.png  ev-1.png  ev+0.png  ev+1.png  ev+1.5.png

Each scene's random parameters (sRGB unprocessing) come from its own generator seeded with
``sha1(f"{seed}/{scene}")``, so a scene renders identically whatever the order, the other files, or the
number of workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from exposurekit.io import IMAGE_SUFFIXES, ImageData, read_image, write_image
from exposurekit.isp.raw import RAW_SUFFIXES, render_bayer, render_raw
from exposurekit.isp.unprocess import render_srgb_evs
from exposurekit.ops import array_to_tensor, luminance, resize_long_side, tensor_to_array

__all__ = [
    "DEFAULT_EVS",
    "MANIFEST_NAME",
    "RADIOMETRIC_EVS",
    "SynthSettings",
    "ev_name",
    "render_source",
    "scene_generator",
    "synthesize_dataset",
]

DEFAULT_EVS = (-1.5, -1.0, 0.0, 1.0, 1.5)
"""The five MSEC exposures."""
RADIOMETRIC_EVS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
"""The seven exposures of the radiometry sets used by UEC and LoopExpose."""
MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "exposurekit-sequences"


def ev_name(ev: float, suffix: str = ".png") -> str:
    """File name of a frame: ``ev-1.5.png``, ``ev+0.png``, ``ev+1.png``.

    Example:
        >>> [ev_name(e) for e in (-1.5, 0.0, 1.0)]
        ['ev-1.5.png', 'ev+0.png', 'ev+1.png']
    """
    ev = 0.0 if ev == 0 else float(ev)
    return f"ev{ev:+g}{suffix}"


def scene_generator(seed: int, scene: str) -> torch.Generator:
    """A torch generator seeded from ``seed`` and the scene name only."""
    s = int.from_bytes(hashlib.sha1(f"{seed}/{scene}".encode()).digest()[:8], "big") & (2**63 - 1)
    return torch.Generator().manual_seed(s)


@dataclass
class SynthSettings:
    """How :func:`synthesize_dataset` renders.

    Attributes:
        evs: exposures in stops.
        source: ``"raw"`` (camera RAW files, or bare Bayer mosaics) or ``"srgb"`` (photos, unprocessed).
        seed: base seed for the per-scene parameters.
        long_side: shrink frames so the long side is at most this (``None``: keep the size).
        bit_depth: 8 or 16 (PNG).
        transfer: RAW only: ``"bt709"`` (rawpy's default curve) or ``"srgb"``.
        bayer_pattern: RAW only, for bare Bayer mosaics (single-channel images): top-left 2×2 colours.
        black_level: RAW only, bare mosaics: sensor black level.
        white_level: RAW only, bare mosaics: sensor saturation (``None``: the mosaic's maximum).
    """

    evs: Sequence[float] = DEFAULT_EVS
    source: str = "srgb"
    seed: int = 0
    long_side: int | None = None
    bit_depth: int = 8
    transfer: str = "bt709"
    bayer_pattern: str = "RGGB"
    black_level: float = 0.0
    white_level: float | None = None


def _is_raw_file(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def render_source(path: Path, settings: SynthSettings, scene: str) -> tuple[Tensor, dict]:
    """Render one source file at ``settings.evs``: ``(frames (N, 3, H, W), info for the manifest)``."""
    if settings.source == "raw":
        if _is_raw_file(path):
            frames, info = render_raw(path, settings.evs, transfer=settings.transfer)
        else:
            data = read_image(path)
            mosaic = data.rgb[..., 0] if data.rgb.ndim == 3 else data.rgb
            if data.rgb.ndim == 3 and not (np.array_equal(data.rgb[..., 0], data.rgb[..., 1])):
                raise ValueError(f"{path}: --from raw needs a RAW file or a single-channel Bayer mosaic")
            frames, info = render_bayer(
                mosaic, settings.bayer_pattern, settings.black_level, settings.white_level, settings.evs,
                transfer="srgb" if settings.transfer == "srgb" else settings.transfer,
            )
        if settings.long_side:
            frames = resize_long_side(frames, settings.long_side)
        return frames.clamp(0, 1), info
    if settings.source == "srgb":
        img = array_to_tensor(read_image(path).rgb)
        if settings.long_side:
            img = resize_long_side(img, settings.long_side)
        frames, params = render_srgb_evs(img.clamp(0, 1), settings.evs, generator=scene_generator(settings.seed, scene))
        return frames, {"pipeline": "unprocess", "params": params.to_dict()}
    raise ValueError(f"source must be 'raw' or 'srgb', got {settings.source!r}")


def _scene_names(files: Sequence[Path]) -> list[str]:
    names, seen = [], {}
    for f in files:
        base = f.stem
        k = seen.get(base, 0)
        seen[base] = k + 1
        names.append(base if k == 0 else f"{base}_{k + 1}")
    return names


def _source_files(src: Path | Iterable[Path], source: str) -> list[Path]:
    if isinstance(src, (str, Path)):
        src = Path(src)
        if src.is_file():
            return [src]
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: no such file or folder")
        suffixes = set(IMAGE_SUFFIXES) | (set(RAW_SUFFIXES) if source == "raw" else set())
        files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if source == "raw" and any(_is_raw_file(p) for p in files):
            files = [p for p in files if _is_raw_file(p) or p.suffix.lower() == ".png"]
        return files
    return [Path(p) for p in src]


def synthesize_dataset(
    src: str | Path | Iterable[Path],
    dst: str | Path,
    settings: SynthSettings | None = None,
    name: str | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Render every source image at ``settings.evs`` and write the sequence dataset to ``dst``.

    Args:
        src: a folder (its images, or RAW files with ``source="raw"``), one file, or a list of files.
        dst: output folder (created).
        settings: rendering settings (defaults: MSEC EVs from sRGB, seed 0).
        name: dataset name in the manifest (default: the folder name of ``dst``).
        overwrite: replace existing frames; otherwise an existing scene folder with every frame is skipped.
        progress: ``progress(done, total, scene)`` after each scene.

    Returns:
        The manifest (also written to ``dst/manifest.json``).
    """
    settings = settings or SynthSettings()
    if settings.bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {settings.bit_depth}")
    evs = [float(e) for e in settings.evs]
    if len(set(evs)) != len(evs) or not evs:
        raise ValueError(f"EVs must be distinct and non-empty, got {evs}")
    files = _source_files(src, settings.source)
    if not files:
        raise FileNotFoundError(f"{src}: no source images")
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    dtype = np.uint8 if settings.bit_depth == 8 else np.uint16
    scenes = []
    order = sorted(range(len(evs)), key=lambda i: evs[i])
    for k, (f, scene) in enumerate(zip(files, _scene_names(files), strict=True)):
        out_dir = dst / scene
        names = [ev_name(evs[i]) for i in order]
        entry = {"scene": scene, "source": str(f), "frames": {n: evs[i] for n, i in zip(names, order, strict=True)}}
        if not overwrite and all((out_dir / n).is_file() for n in names):
            entry["skipped"] = "exists"
            scenes.append(entry)
        else:
            frames, info = render_source(f, settings, scene)
            frames = frames[order]
            out_dir.mkdir(parents=True, exist_ok=True)
            for n, fr in zip(names, frames, strict=True):
                write_image(out_dir / n, ImageData(rgb=tensor_to_array(fr[None], dtype), format="PNG"))
            entry.update(info=info, size=[int(frames.shape[-2]), int(frames.shape[-1])],
                         mean_luminance=[round(float(v), 5) for v in luminance(frames).mean((1, 2, 3))])
            scenes.append(entry)
        if progress:
            progress(k + 1, len(files), scene)
    from exposurekit import __version__

    manifest = {
        "format": FORMAT_NAME,
        "version": 1,
        "dataset": name or dst.name,
        "created_by": f"exposurekit {__version__}",
        "settings": {
            "evs": sorted(evs), "source": settings.source, "seed": settings.seed, "long_side": settings.long_side,
            "bit_depth": settings.bit_depth, "transfer": settings.transfer if settings.source == "raw" else "srgb",
        },
        "scenes": scenes,
    }
    tmp = dst / f".{MANIFEST_NAME}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, dst / MANIFEST_NAME)
    return manifest
