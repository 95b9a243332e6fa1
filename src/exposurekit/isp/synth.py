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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from exposurekit.io import IMAGE_SUFFIXES, ImageData, read_image, write_image
from exposurekit.isp.raw import RAW_SUFFIXES, raw_gain, render_bayer, render_raw
from exposurekit.isp.unprocess import process, sample_unprocess_params, unprocess
from exposurekit.ops import array_to_tensor, luminance, resize_long_side, tensor_to_array

__all__ = [
    "DEFAULT_EVS",
    "MANIFEST_NAME",
    "RADIOMETRIC_EVS",
    "SynthSettings",
    "ev_name",
    "iter_source_frames",
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


def iter_source_frames(path: Path, settings: SynthSettings, scene: str) -> tuple[dict, Iterator[Tensor]]:
    """Render one source file lazily: ``(info for the manifest, frames (1, 3, H, W) in ascending EV order)``.

    Frames are made one at a time (with parameters fixed up front), so a large photo never holds the whole
    sequence in memory.
    """
    evs = sorted(float(e) for e in settings.evs)

    def shrink(x: Tensor) -> Tensor:
        return (resize_long_side(x, settings.long_side) if settings.long_side else x).clamp(0, 1)

    if settings.source == "raw":
        if _is_raw_file(path):
            gain = raw_gain(path)
            _, info = render_raw(path, (), transfer=settings.transfer, gain=gain)
            return info, (shrink(render_raw(path, (ev,), transfer=settings.transfer, gain=gain)[0]) for ev in evs)
        data = read_image(path)
        if not np.array_equal(data.rgb[..., 0], data.rgb[..., 1]):
            raise ValueError(f"{path}: --from raw needs a RAW file or a single-channel Bayer mosaic")
        mosaic = data.rgb[..., 0]
        kw = {"pattern": settings.bayer_pattern, "black_level": settings.black_level,
              "white_level": settings.white_level, "transfer": settings.transfer}
        _, info = render_bayer(mosaic, evs=(), **kw)
        kw.update(white_balance=info["white_balance"], gain=info["gain"])
        return info, (shrink(render_bayer(mosaic, evs=(ev,), **kw)[0]) for ev in evs)
    if settings.source == "srgb":
        img = array_to_tensor(read_image(path).rgb)
        if settings.long_side:
            img = resize_long_side(img, settings.long_side)
        img = img.clamp(0, 1)
        params = sample_unprocess_params(scene_generator(settings.seed, scene))
        info = {"pipeline": "unprocess", "params": params.to_dict()}
        raw = unprocess(img, params)  # once; then one forward render per EV
        return info, (process(raw * 2.0**ev, params) for ev in evs)
    raise ValueError(f"source must be 'raw' or 'srgb', got {settings.source!r}")


def render_source(path: Path, settings: SynthSettings, scene: str) -> tuple[Tensor, dict]:
    """Render one source file at ``settings.evs`` (ascending): ``(frames (N, 3, H, W), info for the manifest)``."""
    info, frames = iter_source_frames(path, settings, scene)
    return torch.cat(list(frames), 0), info


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


def _render_scene(job: tuple) -> dict:
    f, scene, out_dir, names, frame_evs, settings, bit_depth, overwrite = job
    entry: dict = {"scene": scene, "source": str(f), "frames": dict(frame_evs)}
    if not overwrite and all((out_dir / n).is_file() for n in names):
        entry["skipped"] = "exists"
        return entry
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    info, frames = iter_source_frames(f, settings, scene)
    out_dir.mkdir(parents=True, exist_ok=True)
    means, size = [], None
    for n, fr in zip(names, frames, strict=True):
        write_image(out_dir / n, ImageData(rgb=tensor_to_array(fr, dtype), format="PNG"))
        means.append(round(float(luminance(fr).mean()), 5))
        size = [int(fr.shape[-2]), int(fr.shape[-1])]
    entry.update(info=info, size=size, mean_luminance=means)
    return entry


def synthesize_dataset(
    src: str | Path | Iterable[Path],
    dst: str | Path,
    settings: SynthSettings | None = None,
    name: str | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    workers: int = 0,
) -> dict:
    """Render every source image at ``settings.evs`` and write the sequence dataset to ``dst``.

    Args:
        src: a folder (its images, or RAW files with ``source="raw"``), one file, or a list of files.
        dst: output folder (created).
        settings: rendering settings (defaults: MSEC EVs from sRGB, seed 0).
        name: dataset name in the manifest (default: the folder name of ``dst``).
        overwrite: replace existing frames; otherwise an existing scene folder with every frame is skipped.
        progress: ``progress(done, total, scene)`` after each scene.
        workers: render scenes in this many processes (one torch thread each); the output is identical
            to ``workers=0`` because every scene has its own seed.

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
    order = sorted(range(len(evs)), key=lambda i: evs[i])
    names = [ev_name(evs[i]) for i in order]
    frame_evs = {n: evs[i] for n, i in zip(names, order, strict=True)}
    jobs = [(f, scene, dst / scene, names, frame_evs, settings, settings.bit_depth, overwrite)
            for f, scene in zip(files, _scene_names(files), strict=True)]
    scenes: list[dict] = []
    if workers and workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            for k, entry in enumerate(pool.map(_render_scene, jobs)):
                scenes.append(entry)
                if progress:
                    progress(k + 1, len(jobs), entry["scene"])
    else:
        for k, job in enumerate(jobs):
            scenes.append(_render_scene(job))
            if progress:
                progress(k + 1, len(jobs), job[1])
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
