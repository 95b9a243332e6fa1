"""Real exposure brackets: one scene photographed at several exposures, loaded from common layouts.

Layouts understood by :func:`load_brackets` (``layout=`` name in brackets):

- ``"mef"``: Kede Ma's MEF database, ``root/<scene>/*.png|jpg`` (3-30 frames, file names in no useful order).
- ``"deepfuse"``: DeepFuse (ICCV'17), ``root/Seq_xx/img1..3.JPG``. These are **handheld** and slightly
  misaligned (a few pixels); :func:`read_bracket` does not register them.
- ``"mefb"``: MEFB, ``root/<scene>/<scene>_A.*`` (under-exposed) and ``<scene>_B.*`` (over-exposed).
- ``"sice"``: SICE as distributed, ``root/<k>/1.JPG ...`` with an optional reference ``root/Label/<k>.JPG``.
- ``"sice-flat"``: SICE Part 1 as shipped for Zero-DCE, one flat folder of numbered frames; scenes are
  recovered from image similarity by :func:`exposurekit.data.sice.recover_sice_scenes`.
- ``"sequences"``: what ``exposurekit synth`` writes, ``root/<scene>/ev-1.5.png ...`` (+ ``manifest.json``);
  the EVs come from the file names.

Frames are always sorted dark→bright: by EV when every frame's EV is known, else by mean luminance.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from exposurekit.data.sice import cache_dir, is_flat_sice, recover_sice_scenes, thumbnail_luminance
from exposurekit.data.splits import is_held_out

__all__ = [
    "DUPLICATE_SCENES",
    "LAYOUTS",
    "MID_GREY",
    "SHARED_FOLDERS",
    "Bracket",
    "detect_layout",
    "duplicates_of",
    "ev_from_name",
    "frame_luminance",
    "is_held_out_any",
    "load_brackets",
    "load_deepfuse",
    "load_mef",
    "load_mefb",
    "load_sequences",
    "load_sice",
    "read_bracket",
    "shared_brackets",
    "split_brackets",
]

MID_GREY = 0.46
"""Mean sRGB-encoded luma of a well-exposed frame: 18 % grey encoded in sRGB (≈ 118/255)."""

LAYOUTS = ("mef", "deepfuse", "mefb", "sice", "sice-flat", "sequences")

SHARED_FOLDERS = {
    "sice": "sice_part1_512_zerodcepp_train",
    "mef": "mef_ma_database",
    "deepfuse": "deepfuse_iccv17_pairs",
    "mefb": "mefb_100_pairs",
}
"""Folder of each dataset inside the shared data root (``../shared/data``)."""

# The same view in two places (found by benchmarks/sequences_duplicates.py, structure correlation > 0.9):
# MEFB contains 9 MEF scenes, 15 DeepFuse sequences and one SICE scene; DeepFuse re-shoots some scenes;
# SICE has one scene in two runs of its numbering. A bracket is held out when ANY copy is held out.
DUPLICATE_SCENES: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("sice", "0057"), ("mefb", "Knossos6")),  # 0.999
    (("sice", "1003"), ("sice", "1203")),  # 0.999
    (("mef", "Arno"), ("mefb", "Arno")),  # 1.000
    (("mef", "Balloons"), ("mefb", "Balloons")),  # 1.000
    (("mef", "BelgiumHouse"), ("mefb", "BelgiumHouse")),  # 1.000
    (("mef", "Cave"), ("mefb", "Cave")),  # 1.000
    (("mef", "ChineseGarden"), ("mefb", "ChineseGarden")),  # 1.000
    (("mef", "Church"), ("mefb", "Church")),  # 1.000
    (("mef", "Farmhouse"), ("mefb", "Farmhouse")),  # 1.000
    (("mef", "House"), ("mefb", "House")),  # 1.000
    (("mef", "Kluki"), ("mefb", "Kluki")),  # 1.000
    (("deepfuse", "Seq_00"), ("mefb", "ICCV_01")),  # 1.000
    (("deepfuse", "Seq_10"), ("mefb", "ICCV_02")),  # 1.000
    (("deepfuse", "Seq_12"), ("deepfuse", "Seq_13")),  # 0.997
    (("deepfuse", "Seq_12"), ("mefb", "ICCV_03")),  # 1.000
    (("deepfuse", "Seq_13"), ("mefb", "ICCV_03")),  # 0.997
    (("deepfuse", "Seq_19"), ("mefb", "ICCV_04")),  # 1.000
    (("deepfuse", "Seq_20"), ("mefb", "ICCV_05")),  # 1.000
    (("deepfuse", "Seq_22"), ("mefb", "ICCV_06")),  # 1.000
    (("deepfuse", "Seq_28"), ("deepfuse", "Seq_29")),  # 0.981
    (("deepfuse", "Seq_30"), ("deepfuse", "Seq_31")),  # 0.973
    (("deepfuse", "Seq_30"), ("mefb", "ICCV_07")),  # 0.973
    (("deepfuse", "Seq_31"), ("mefb", "ICCV_07")),  # 1.000
    (("deepfuse", "Seq_33"), ("mefb", "ICCV_08")),  # 1.000
    (("deepfuse", "Seq_35"), ("mefb", "ICCV_09")),  # 1.000
    (("deepfuse", "Seq_37"), ("mefb", "ICCV_10")),  # 1.000
    (("deepfuse", "Seq_38"), ("mefb", "ICCV_11")),  # 1.000
    (("deepfuse", "Seq_77"), ("mefb", "ICCV_12")),  # 1.000
    (("deepfuse", "Seq_78"), ("mefb", "ICCV_13")),  # 1.000
    (("deepfuse", "Seq_79"), ("mefb", "ICCV_14")),  # 1.000
    (("deepfuse", "Seq_80"), ("mefb", "ICCV_15")),  # 1.000
]
"""Pairs of ``(dataset, scene)`` that show the same scene; see :attr:`Bracket.held_out`."""


def _duplicate_groups() -> dict[tuple[str, str], frozenset[tuple[str, str]]]:
    groups: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for a, b in DUPLICATE_SCENES:
        merged = groups.get(a, {a}) | groups.get(b, {b})
        for m in merged:
            groups[m] = merged
    return {k: frozenset(v) for k, v in groups.items()}


_DUPLICATES = _duplicate_groups()


def duplicates_of(dataset: str, scene: str) -> list[tuple[str, str]]:
    """Other ``(dataset, scene)`` entries of the shared data that show the same scene (may be empty)."""
    return sorted(_DUPLICATES.get((dataset, scene), frozenset()) - {(dataset, scene)})


def is_held_out_any(dataset: str, scene: str) -> bool:
    """``is_held_out`` of the scene or of any of its :func:`duplicates_of` (what training must exclude)."""
    return is_held_out(dataset, scene) or any(is_held_out(d, s) for d, s in duplicates_of(dataset, scene))


_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
_EV_RE = re.compile(r"ev([+-]\d+(?:\.\d+)?|0(?:\.0+)?)(?=$|[^0-9.]|\.[a-z])", re.IGNORECASE)


def ev_from_name(path: str | Path) -> float | None:
    """The EV written in a file name (``ev-1.5.png``, ``ev+0.png``, ``StudioEV+2.png``), else ``None``.

    Example:
        >>> ev_from_name("scene/ev-1.5.png"), ev_from_name("ev+0.png"), ev_from_name("img1.jpg")
        (-1.5, 0.0, None)
    """
    m = _EV_RE.search(Path(path).stem)
    return float(m.group(1)) if m else None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)


_LUMINANCE_CACHE_NAME = "luminance_v1.json"
_lum_memo: dict[str, float] = {}


def _lum_key(f: Path) -> str:
    st = f.stat()
    return f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def frame_luminance(paths: Sequence[str | Path], use_cache: bool = True) -> list[float]:
    """Mean sRGB-encoded luma (Rec. 709 weights, in [0, 1]) of each image, from a 64×64 thumbnail.

    Values are remembered in memory and in one JSON file under :func:`exposurekit.data.sice.cache_dir`,
    keyed by resolved path, size and mtime (a changed file is measured again).
    """
    files = [Path(p) for p in paths]
    keys = [_lum_key(f) for f in files]
    cache_file = cache_dir() / _LUMINANCE_CACHE_NAME
    if use_cache and any(k not in _lum_memo for k in keys) and cache_file.is_file():
        try:
            _lum_memo.update({k: float(v) for k, v in json.loads(cache_file.read_text()).items()})
        except (OSError, ValueError, AttributeError):
            pass
    missing = [i for i, k in enumerate(keys) if not use_cache or k not in _lum_memo]
    new = {keys[i]: float(thumbnail_luminance(files[i], 64).mean()) for i in missing}
    if use_cache and new:
        _lum_memo.update(new)
        try:
            on_disk = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
        except (OSError, ValueError):
            on_disk = {}
        try:
            on_disk.update(new)
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(on_disk))
            os.replace(tmp, cache_file)
        except (OSError, AttributeError):
            pass
    return [new[k] if k in new else _lum_memo[k] for k in keys]


@dataclass
class Bracket:
    """One scene at several exposures.

    Attributes:
        dataset: dataset name used by the held-out split (``"sice"``, ``"mef"``, ``"deepfuse"``, ``"mefb"``, ...).
        scene: scene name within the dataset (folder name; for flat SICE the smallest frame number, ``"0096"``).
        frames: image files sorted dark → bright.
        evs: relative EV of each frame when known (synthesized sequences, ``EV±n`` in file names), else ``None``.
        reference: a well-exposed reference image when the dataset ships one (SICE ``Label/``), else ``None``.
    """

    dataset: str
    scene: str
    frames: list[Path]
    evs: list[float] | None = None
    reference: Path | None = None
    _luminance: list[float] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def held_out(self) -> bool:
        """Whether this scene is held out: in the project-wide split itself, or a copy of a held-out scene
        in another dataset (:data:`DUPLICATE_SCENES`). Never train on it."""
        return is_held_out_any(self.dataset, self.scene)

    @property
    def luminance(self) -> list[float]:
        """Mean sRGB-encoded luma of each frame (computed once from thumbnails, then cached)."""
        if self._luminance is None:
            self._luminance = frame_luminance(self.frames)
        return self._luminance

    @property
    def middle_index(self) -> int:
        """Index of the best-exposed frame.

        Rule: with known EVs, the frame whose EV is closest to 0 (the nominal exposure); otherwise the frame
        whose mean sRGB-encoded luma is closest to :data:`MID_GREY` (0.46, i.e. 18 % grey). Ties go to
        the darker frame.
        """
        if self.evs is not None:
            return min(range(len(self.evs)), key=lambda i: (abs(self.evs[i]), i))
        lum = self.luminance
        return min(range(len(lum)), key=lambda i: (abs(lum[i] - MID_GREY), i))


def _sorted_by_luminance(files: list[Path]) -> tuple[list[Path], list[float]]:
    lum = frame_luminance(files)
    order = sorted(range(len(files)), key=lambda i: (lum[i], files[i].name))
    return [files[i] for i in order], [lum[i] for i in order]


def _bracket_from_files(dataset: str, scene: str, files: list[Path], reference: Path | None = None) -> Bracket:
    evs = [ev_from_name(f) for f in files]
    if all(e is not None for e in evs) and len(set(evs)) == len(evs):
        order = sorted(range(len(files)), key=lambda i: evs[i])
        return Bracket(dataset, scene, [files[i] for i in order], [float(evs[i]) for i in order], reference)
    frames, lum = _sorted_by_luminance(files)
    return Bracket(dataset, scene, frames, None, reference, _luminance=lum)


def _scene_dirs(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def load_mef(root: str | Path, dataset: str = "mef", min_frames: int = 2) -> list[Bracket]:
    """MEF-database layout ``root/<scene>/*.png|jpg``; frames ordered by mean luminance (or by ``EV±n`` names)."""
    out = []
    for d in _scene_dirs(Path(root)):
        files = _images_in(d)
        if len(files) >= min_frames:
            out.append(_bracket_from_files(dataset, d.name, files))
    return out


def load_deepfuse(root: str | Path, dataset: str = "deepfuse") -> list[Bracket]:
    """DeepFuse layout ``root/Seq_xx/img1..3.JPG``, ordered by mean luminance. Handheld: frames are not aligned."""
    out = []
    for d in _scene_dirs(Path(root)):
        files = [f for f in _images_in(d) if re.fullmatch(r"img\d+", f.stem, re.IGNORECASE)] or _images_in(d)
        if len(files) >= 2:
            out.append(_bracket_from_files(dataset, d.name, files))
    return out


def load_mefb(root: str | Path, dataset: str = "mefb") -> list[Bracket]:
    """MEFB layout ``root/<scene>/<scene>_A.*`` (under-exposed) + ``<scene>_B.*`` (over-exposed): frames ``[A, B]``."""
    out = []
    for d in _scene_dirs(Path(root)):
        files = _images_in(d)
        a = [f for f in files if f.stem.lower().endswith("_a")]
        b = [f for f in files if f.stem.lower().endswith("_b")]
        if len(a) == 1 and len(b) == 1:
            out.append(Bracket(dataset, d.name, [a[0], b[0]], None))
    return out


def load_sice(root: str | Path, dataset: str = "sice", min_frames: int = 2) -> list[Bracket]:
    """SICE, standard layout (``root/<k>/*.JPG`` + optional ``root/Label/<k>.*``) or the flat Zero-DCE folder.

    In the flat layout scenes are recovered with :func:`~exposurekit.data.sice.recover_sice_scenes`; scenes
    with fewer than ``min_frames`` frames are dropped.
    """
    root = Path(root)
    if is_flat_sice(root):
        return [
            _bracket_from_files(dataset, name, frames)  # re-sorted by the same luminance as everywhere else
            for name, frames in recover_sice_scenes(root).items()
            if len(frames) >= min_frames
        ]
    label_dir = next((d for d in _scene_dirs(root) if d.name.lower() == "label"), None)
    labels = {p.stem: p for p in _images_in(label_dir)} if label_dir else {}
    out = []
    for d in _scene_dirs(root):
        if d is label_dir:
            continue
        files = _images_in(d)
        if len(files) >= min_frames:
            out.append(_bracket_from_files(dataset, d.name, files, labels.get(d.name)))
    out.sort(key=lambda b: (0, int(b.scene)) if b.scene.isdigit() else (1, b.scene))
    return out


def load_sequences(root: str | Path, dataset: str | None = None) -> list[Bracket]:
    """Sequences written by ``exposurekit synth`` (``root/<scene>/ev±x.png`` + ``manifest.json``); EVs from names.

    The dataset name is ``dataset``, else the manifest's ``"dataset"``, else the folder name.
    """
    root = Path(root)
    if dataset is None:
        try:
            dataset = json.loads((root / "manifest.json").read_text()).get("dataset")
        except (OSError, ValueError):
            dataset = None
        dataset = dataset or root.name
    out = []
    for d in _scene_dirs(root):
        files = [f for f in _images_in(d) if ev_from_name(f) is not None]
        if len(files) >= 2:
            out.append(_bracket_from_files(dataset, d.name, files))
    return out


def detect_layout(root: str | Path) -> str:
    """Guess the layout of ``root`` (one of :data:`LAYOUTS`).

    Raises:
        ValueError: when nothing recognisable is there.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    if is_flat_sice(root):
        return "sice-flat"
    dirs = _scene_dirs(root)
    if not dirs:
        raise ValueError(f"{root}: no scene folders and no numbered frames; expected one of {LAYOUTS}")
    sample = dirs[:8]
    if (root / "manifest.json").is_file() or all(
        _images_in(d) and all(ev_from_name(f) is not None for f in _images_in(d)) for d in sample
    ):
        return "sequences"
    if all(any(f.stem.lower() == f"{d.name.lower()}_a" for f in _images_in(d)) for d in sample):
        return "mefb"
    if all(re.fullmatch(r"seq_\d+", d.name, re.IGNORECASE) for d in sample):
        return "deepfuse"
    names = [d.name for d in dirs]
    if any(n.lower() == "label" for n in names) or all(n.isdigit() for n in names):
        return "sice"
    return "mef"


_LOADERS = {"mef": load_mef, "deepfuse": load_deepfuse, "mefb": load_mefb, "sice": load_sice,
            "sice-flat": load_sice, "sequences": load_sequences}


def load_brackets(root: str | Path, layout: str | None = None, dataset: str | None = None) -> list[Bracket]:
    """Load every bracket under ``root``.

    Args:
        root: dataset folder.
        layout: one of :data:`LAYOUTS`; detected with :func:`detect_layout` when ``None``.
        dataset: dataset name for the held-out split; defaults to the layout's name (``"sice"`` for both SICE
            layouts; for ``"sequences"`` the manifest's name).

    Returns:
        Brackets in a deterministic order, frames dark→bright.
    """
    layout = layout or detect_layout(root)
    if layout not in _LOADERS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    if layout == "sequences":
        return load_sequences(root, dataset)
    name = dataset or ("sice" if layout.startswith("sice") else layout)
    return _LOADERS[layout](root, dataset=name)


def shared_brackets(
    data_root: str | Path,
    datasets: Iterable[str] = ("sice", "mef", "deepfuse", "mefb"),
    min_frames: int = 2,
) -> list[Bracket]:
    """Brackets of the real datasets in the shared data folder (``../shared/data``), see :data:`SHARED_FOLDERS`.

    A dataset whose folder is missing is skipped with a warning. Filter with ``b.held_out`` (or
    :func:`split_brackets`) before training.
    """
    data_root = Path(data_root)
    out: list[Bracket] = []
    for ds in datasets:
        if ds not in SHARED_FOLDERS:
            raise ValueError(f"unknown dataset {ds!r}; expected one of {tuple(SHARED_FOLDERS)}")
        folder = data_root / SHARED_FOLDERS[ds]
        if not folder.is_dir():
            warnings.warn(f"{folder}: missing, dataset {ds!r} skipped", stacklevel=2)
            continue
        out.extend(b for b in load_brackets(folder, layout=None, dataset=ds) if len(b.frames) >= min_frames)
    return out


def split_brackets(brackets: Iterable[Bracket]) -> tuple[list[Bracket], list[Bracket]]:
    """``(train, held_out)`` by the project-wide split."""
    train, held = [], []
    for b in brackets:
        (held if b.held_out else train).append(b)
    return train, held


def read_bracket(
    bracket: Bracket,
    long_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> Tensor:
    """Read every frame of a bracket as one ``(N, 3, H, W)`` float tensor in [0, 1], dark→bright.

    Frames of one scene are resized to a common size: ``size = (H, W)`` when given, else the most common
    frame size in the bracket (ties: the first frame's), then shrunk so that the long side is at most
    ``long_side``. Alpha is dropped. DeepFuse frames are handheld and stay slightly misaligned.
    """
    from exposurekit.io import read_image
    from exposurekit.ops import array_to_tensor, resize_long_side, resize_to

    imgs = [array_to_tensor(read_image(f).rgb) for f in bracket.frames]
    if size is None:
        shapes = [tuple(t.shape[-2:]) for t in imgs]
        size = Counter(shapes).most_common(1)[0][0]
        if Counter(shapes)[shapes[0]] == Counter(shapes)[size]:
            size = shapes[0]
    out = torch.cat([resize_to(t, tuple(size)) for t in imgs], 0)
    if long_side is not None:
        out = resize_long_side(out, long_side)
    return out.clamp_(0, 1)

