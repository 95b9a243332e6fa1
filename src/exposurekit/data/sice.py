"""Recover the scenes of SICE Part 1 as shipped flat (``1.jpg ... 1400.jpg``, no sequence index).

The Zero-DCE / Zero-DCE++ training set is SICE Part 1 resized to 512×512 and renumbered into one folder.
Consecutive numbers *mostly* run through one scene, but not always dark→bright, and a few frames of a
scene turn up elsewhere in the numbering (the original names were sorted as text, so for example the
frames of one desert scene sit at 1001, 1013, 1024, …, 1068, and scenes of 10+ frames come out of order).

The recovery therefore works on image *structure*, which exposure changes little, and ignores brightness:

1. Each frame becomes a small thumbnail (JPEG draft decoding, 32×32); its feature is the Sobel gradient
   of log-luminance, zero-mean and unit-norm. Two frames of one scene at different exposures usually
   correlate above 0.75; next to a washed-out (near white or black) frame it can drop to 0.13-0.35,
   while neighbouring frames of different scenes stay below 0.21 (measured on the whole set).
2. Frames are linked when they are within ``window`` numbers of each other, no numbering gap lies
   between them, and their correlation exceeds ``link_threshold``. Looking two frames back bridges a
   frame whose structure is washed out (nearly white or black).
3. Small groups left over (``stray_max_size`` frames or fewer, usually one stray frame) join the group of
   their most similar frame within ``stray_max_distance`` numbers when that correlation exceeds
   ``stray_threshold``.
4. Two groups of the same run within ``stray_max_distance`` numbers whose most similar frames correlate
   above ``merge_threshold`` are one scene seen twice (a 13-frame scene numbered in text order
   1, 10-13, 2-9 comes out as 938 | 939-942 | 943-950) and join.
5. Scenes are the connected components; frames in a scene are ordered by mean luminance (dark→bright)
   and the scene is named by its smallest frame number, zero-padded to four digits (``"0096"``).

The result is cached as JSON under :func:`cache_dir` keyed by the folder listing (names, sizes,
mtimes) and the parameters, so a second call costs a directory listing. A first call reads 1,364 JPEG
drafts, about 2-4 s on one core.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "SiceRecoveryParams",
    "cache_dir",
    "frame_number",
    "is_flat_sice",
    "recover_sice_scenes",
    "thumbnail_luminance",
]

_NUMBERED = re.compile(r"^(\d+)\.(jpe?g|png)$", re.IGNORECASE)
_ALGO_VERSION = 3
_REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class SiceRecoveryParams:
    """Parameters of :func:`recover_sice_scenes` (see the module docstring for what each does)."""

    thumb: int = 32
    window: int = 2
    link_threshold: float = 0.45
    stray_max_size: int = 2
    stray_threshold: float = 0.8
    stray_max_distance: int = 150
    merge_threshold: float = 0.9


def cache_dir() -> Path:
    """Where exposurekit caches derived data: ``$EXPOSUREKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/exposurekit``,
    else ``~/.cache/exposurekit``."""
    env = os.environ.get("EXPOSUREKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "exposurekit"


def frame_number(path: Path) -> int | None:
    """The frame number of ``123.jpg``-style names, else ``None``."""
    m = _NUMBERED.match(path.name)
    return int(m.group(1)) if m else None


def is_flat_sice(root: Path, min_frames: int = 10) -> bool:
    """Whether ``root`` is one flat folder of numbered images (at least ``min_frames``), like the Zero-DCE set."""
    root = Path(root)
    if not root.is_dir():
        return False
    n = 0
    for p in root.iterdir():
        if p.is_dir():
            return False
        if frame_number(p) is not None:
            n += 1
    return n >= min_frames


def thumbnail_luminance(path: Path, size: int = 32) -> np.ndarray:
    """``(size, size)`` float32 sRGB-encoded luma (Rec. 709 weights) of an image, read cheaply.

    JPEGs are decoded at reduced scale (Pillow ``draft``), then area-resized to a square.
    """
    from PIL import Image

    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (size * 2, size * 2))
        im = im.convert("RGB").resize((size, size), Image.Resampling.BOX)
        a = np.asarray(im, dtype=np.float32) / 255.0
    return a @ _REC709


def _structure_feature(y: np.ndarray) -> np.ndarray:
    import cv2

    log = np.log(y + 0.02)
    gx = cv2.Sobel(log, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(log, cv2.CV_32F, 0, 1)
    v = np.concatenate([gx.ravel(), gy.ravel()])
    v = v - v.mean()
    return v / (np.linalg.norm(v) + 1e-6)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _group(numbers: list[int], feats: np.ndarray, p: SiceRecoveryParams) -> list[list[int]]:
    """Indices (into ``numbers``) of each recovered scene, scenes in order of their first frame."""
    n = len(numbers)
    nums = np.asarray(numbers)
    # run id: frames separated by a numbering gap never join (no scene spans a gap).
    run = np.concatenate([[0], np.cumsum(np.diff(nums) > 1)])
    sim = feats @ feats.T
    uf = _UnionFind(n)
    for i in range(n):
        for j in range(i + 1, min(n, i + p.window + 1)):
            if run[j] == run[i] and sim[i, j] > p.link_threshold:
                uf.union(i, j)
    # strays: repeat until stable, so that stray frames of one scene first find each other, then their scene.
    for _ in range(n):
        merged = False
        for members in _components(uf, n):
            if len(members) > p.stray_max_size:
                continue
            best, best_j = -2.0, -1
            for i in members:
                near = (run == run[i]) & (np.abs(nums - nums[i]) <= p.stray_max_distance)
                near[members] = False
                if not near.any():
                    continue
                cand = np.where(near)[0]
                j = int(cand[np.argmax(sim[i, cand])])
                if sim[i, j] > best:
                    best, best_j = float(sim[i, j]), j
            if best > p.stray_threshold and uf.find(best_j) != uf.find(members[0]):
                uf.union(members[0], best_j)
                merged = True
        if not merged:
            break
    # look-alike groups: two groups of one run showing the same view (a scene whose frames were numbered
    # apart, e.g. 938 + 939-942 + 943-950, the text order 1, 10-13, 2-9 of a 13-frame scene) join.
    comps = _components(uf, n)
    for a in range(len(comps)):
        for b in range(a + 1, len(comps)):
            ca, cb = comps[a], comps[b]
            if run[ca[0]] != run[cb[0]] or abs(int(nums[ca[0]]) - int(nums[cb[0]])) > p.stray_max_distance:
                continue
            if sim[np.ix_(ca, cb)].max() > p.merge_threshold:
                uf.union(ca[0], cb[0])
    return _components(uf, n)


def _components(uf: _UnionFind, n: int) -> list[list[int]]:
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(uf.find(i), []).append(i)
    return sorted(comps.values(), key=lambda m: m[0])


def _listing_key(files: list[Path], p: SiceRecoveryParams) -> str:
    h = hashlib.sha1()
    h.update(f"v{_ALGO_VERSION}|{json.dumps(asdict(p), sort_keys=True)}|{files[0].parent.resolve()}".encode())
    for f in files:
        st = f.stat()
        h.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def recover_sice_scenes(
    root: str | Path,
    params: SiceRecoveryParams | None = None,
    use_cache: bool = True,
) -> dict[str, list[Path]]:
    """Recover the scenes of a flat numbered SICE folder.

    Args:
        root: folder of ``<number>.jpg`` frames (e.g. ``sice_part1_512_zerodcepp_train``).
        params: recovery parameters; the defaults were checked against hand-labelled boundaries.
        use_cache: read/write the JSON cache under :func:`cache_dir` (skipped silently if unwritable).

    Returns:
        ``{scene name: frames ordered dark→bright by mean luminance}``; scene names are the smallest frame
        number of the scene zero-padded to 4 digits, in numeric order. Single-frame scenes are kept.

    Raises:
        FileNotFoundError: when ``root`` holds no numbered images.
    """
    root = Path(root)
    p = params or SiceRecoveryParams()
    files = sorted((f for f in root.iterdir() if frame_number(f) is not None), key=lambda f: frame_number(f))
    if not files:
        raise FileNotFoundError(f"{root}: no numbered images (expected 1.jpg, 2.jpg, ...)")
    key = _listing_key(files, p)
    cache_file = cache_dir() / f"sice_scenes_{key[:16]}.json"
    if use_cache and cache_file.is_file():
        try:
            data = json.loads(cache_file.read_text())
            if data.get("key") == key:
                return {name: [root / f for f in frames] for name, frames in data["scenes"].items()}
        except (OSError, ValueError, KeyError):
            pass
    lum = [thumbnail_luminance(f, p.thumb) for f in files]
    means = np.array([float(y.mean()) for y in lum])
    feats = np.stack([_structure_feature(y) for y in lum])
    numbers = [int(frame_number(f)) for f in files]
    scenes: dict[str, list[Path]] = {}
    for members in _group(numbers, feats, p):
        # stable: ties in luminance keep numeric order
        ordered = sorted(members, key=lambda i: (means[i], numbers[i]))
        scenes[f"{min(numbers[i] for i in members):04d}"] = [files[i] for i in ordered]
    if use_cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            payload = {"key": key, "root": str(root.resolve()),
                       "scenes": {k: [f.name for f in v] for k, v in scenes.items()}}
            tmp.write_text(json.dumps(payload))
            os.replace(tmp, cache_file)
        except OSError:
            pass
    return scenes
