"""Benchmark dataset layouts as lists of (input, target) samples, named by a short spec string.

A *spec* is ``KIND:PATH`` (or a bare ``PATH`` whose kind is detected), or a shared-data shortcut:

====================  ===========================================================================
spec                  layout
====================  ===========================================================================
``msec:ROOT``         MSEC (Afifi et al. 2021): ``ROOT/INPUT_IMAGES/<name>_{N1.5,N1,0,P1,P1.5}.*`` with
                      targets ``ROOT/GT_IMAGES/<name>.*`` or ``ROOT/expert_c_testing_set/<name>.*``
                      (``msec-a:`` … ``msec-e:`` pick another expert). Group = EV suffix.
``sice:ROOT``         SICE as distributed: ``ROOT/<k>/*.JPG`` with ``ROOT/Label/<k>.*``; every frame is an
                      input, the label its target. Group = frame index (dark→bright).
``lol:ROOT``          LOL: ``ROOT/low/*`` → ``ROOT/high/*`` by stem (also ``ROOT/{our485,eval15}/...``).
``baid:ROOT``         BAID-style backlit pairs: ``ROOT/input/*`` → ``ROOT/GT/*`` (or ``gt``/``target``) by stem.
``pairs:ROOT``        generic ``ROOT/input/`` + ``ROOT/target/`` matched by file stem.
``folder:ROOT``       images without ground truth (scored without reference); ``ROOT`` may be a file.
``brackets:ROOT``     multi-exposure sequence folders (any layout of :mod:`exposurekit.data.brackets`);
                      evaluated with the held-out bracket protocol (target = middle frame).
``shared:NAME``       sets in ``../shared/data``: ``dicm``, ``lime``, ``mefb-over``, ``mefb-under``,
                      ``backlit``, ``clip-lit``, ``sci-lowlight``, ``kodak``, and ``heldout`` (held-out
                      SICE/MEF/DeepFuse brackets).
====================  ===========================================================================

The same loaders serve training: :class:`PairedImages` is a ``torch.utils.data.Dataset`` over samples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

__all__ = [
    "KINDS",
    "SHARED_SETS",
    "PairedImages",
    "Sample",
    "detect_kind",
    "load_pairs",
    "load_spec",
    "parse_spec",
]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
KINDS = ("msec", "sice", "lol", "baid", "pairs", "folder", "brackets", "shared")
MSEC_SUFFIXES = ("N1.5", "N1", "0", "P1", "P1.5")
_MSEC_RE = re.compile(r"^(?P<stem>.+)_(?P<ev>N1\.5|N1|0|P1|P1\.5)$")

SHARED_SETS = {
    "dicm": ("zerodce_test/DICM", "*"),
    "lime": ("zerodce_test/LIME", "*"),
    "mefb-over": ("mefb_100_pairs", "*/*_B.*"),
    "mefb-under": ("mefb_100_pairs", "*/*_A.*"),
    "backlit": ("backlit_web_ovd0312", "*"),
    "clip-lit": ("clip_lit_backlit_examples", "*"),
    "sci-lowlight": ("sci_lowlight_samples", "**/*"),
    "kodak": ("clean_kodak24", "*"),
}
"""``shared:NAME`` → (folder in ``../shared/data``, glob of its images). ``heldout`` is handled apart."""


@dataclass(frozen=True)
class Sample:
    """One evaluation item.

    Attributes:
        input: the image to correct.
        target: its ground truth, or ``None`` (score without reference).
        name: unique, readable id (relative path without suffix).
        group: subset label for per-group means (MSEC EV suffix, SICE frame index, folder), or ``""``.
    """

    input: Path
    target: Path | None
    name: str
    group: str = ""


def _images(folder: Path, pattern: str = "*") -> list[Path]:
    if not folder.is_dir():
        return []
    it = folder.glob(pattern)
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _by_stem(files: Sequence[Path]) -> dict[str, Path]:
    return {p.stem.lower(): p for p in files}


def _find_dir(root: Path, *names: str) -> Path | None:
    low = {d.name.lower(): d for d in root.iterdir() if d.is_dir()} if root.is_dir() else {}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


def _paired(root: Path, in_dir: Path, gt_dir: Path, group: str = "") -> list[Sample]:
    gts = _by_stem(_images(gt_dir))
    out = []
    missing = []
    for p in _images(in_dir):
        t = gts.get(p.stem.lower())
        if t is None:
            missing.append(p.name)
            continue
        out.append(Sample(p, t, str(p.relative_to(root).with_suffix("")), group))
    if missing and not out:
        raise ValueError(f"{in_dir}: no input has a target of the same stem in {gt_dir} (e.g. {missing[0]})")
    return out


def load_msec(root: Path, expert: str = "c") -> list[Sample]:
    """MSEC: inputs ``INPUT_IMAGES/<name>_<EV>.*``, targets in ``GT_IMAGES`` or ``expert_<x>_testing_set``."""
    in_dir = _find_dir(root, "INPUT_IMAGES")
    gt_dir = _find_dir(root, f"expert_{expert}_testing_set", "GT_IMAGES", f"expert_{expert}")
    if in_dir is None or gt_dir is None:
        raise ValueError(f"{root}: MSEC needs INPUT_IMAGES/ and GT_IMAGES/ (or expert_{expert}_testing_set/)")
    gts = _by_stem(_images(gt_dir))
    out = []
    for p in _images(in_dir):
        m = _MSEC_RE.match(p.stem)
        if not m:
            continue
        t = gts.get(m["stem"].lower())
        if t is not None:
            out.append(Sample(p, t, p.stem, m["ev"]))
    if not out:
        raise ValueError(f"{root}: no MSEC input (<name>_N1.5 ... _P1.5) matched a target in {gt_dir}")
    return out


def load_sice_pairs(root: Path) -> list[Sample]:
    """SICE with labels: every frame of ``ROOT/<k>/`` against ``ROOT/Label/<k>.*``; group = frame index."""
    label_dir = _find_dir(root, "Label", "label")
    if label_dir is None:
        raise ValueError(f"{root}: SICE pairs need a Label/ folder (use brackets:{root} for sequences without labels)")
    labels = _by_stem(_images(label_dir))
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p != label_dir):
        t = labels.get(d.name.lower())
        if t is None:
            continue
        from exposurekit.data.brackets import frame_luminance

        files = _images(d)
        lum = frame_luminance(files)
        for i, f in enumerate(sorted(files, key=lambda q: lum[files.index(q)])):
            out.append(Sample(f, t, f"{d.name}/{f.stem}", str(i + 1)))
    return out


def load_lol(root: Path) -> list[Sample]:
    """LOL: ``low/`` → ``high/`` by stem, at ``root`` or in its ``our485``/``eval15`` sub-folders."""
    out = []
    for base in [root, *(d for d in sorted(root.iterdir()) if d.is_dir())]:
        lo, hi = _find_dir(base, "low"), _find_dir(base, "high")
        if lo and hi:
            out += _paired(root, lo, hi, base.name if base != root else "")
    if not out:
        raise ValueError(f"{root}: LOL needs low/ and high/ folders")
    return out


def load_baid(root: Path) -> list[Sample]:
    """BAID-style: ``input/`` → ``GT/`` (or ``gt``, ``target``, ``output``) by stem."""
    in_dir = _find_dir(root, "input", "inputs")
    gt_dir = _find_dir(root, "GT", "gt", "target", "targets", "output")
    if in_dir is None or gt_dir is None:
        raise ValueError(f"{root}: expected input/ and GT/ folders")
    return _paired(root, in_dir, gt_dir)


def load_generic_pairs(root: Path) -> list[Sample]:
    """Generic ``input/`` + ``target/`` (or ``gt``/``GT``) matched by stem."""
    in_dir = _find_dir(root, "input", "inputs")
    gt_dir = _find_dir(root, "target", "targets", "gt")
    if in_dir is None or gt_dir is None:
        raise ValueError(f"{root}: expected input/ and target/ folders")
    return _paired(root, in_dir, gt_dir)


def load_folder(root: Path, pattern: str = "*") -> list[Sample]:
    """Images without ground truth (``root`` a folder, or one image file)."""
    if root.is_file():
        return [Sample(root, None, root.stem, "")]
    files = _images(root, pattern)
    if not files:
        raise ValueError(f"{root}: no images matching {pattern!r}")
    return [Sample(f, None, str(f.relative_to(root).with_suffix("")), f.parent.name if f.parent != root else "")
            for f in files]


def detect_kind(root: str | Path) -> str:
    """Guess the kind of a bare path (see the module table)."""
    root = Path(root)
    if root.is_file():
        return "folder"
    if not root.is_dir():
        raise ValueError(f"{root}: no such file or folder")
    if _find_dir(root, "INPUT_IMAGES"):
        return "msec"
    if _find_dir(root, "low") and _find_dir(root, "high") or any(
            _find_dir(d, "low") for d in root.iterdir() if d.is_dir()):
        return "lol"
    if _find_dir(root, "input", "inputs") and _find_dir(root, "target", "targets", "gt"):
        return "pairs"
    if _find_dir(root, "Label"):
        return "sice"
    if _images(root):
        from exposurekit.data.sice import is_flat_sice

        return "brackets" if is_flat_sice(root) else "folder"
    return "brackets"


def parse_spec(spec: str) -> tuple[str, str, str]:
    """``"msec-a:/x"`` → ``("msec", "a", "/x")``; ``"/x"`` → ``(detected, "", "/x")``."""
    m = re.match(r"^(?P<kind>[a-z]+)(?:-(?P<opt>[a-z]))?:(?P<rest>.+)$", spec)
    if m and m["kind"] in KINDS and not re.match(r"^[a-zA-Z]:[\\/]", spec):
        return m["kind"], m["opt"] or "", m["rest"]
    return detect_kind(spec), "", spec


def _shared_root() -> Path:
    from exposurekit.evaluate.heldout import default_data_root

    return default_data_root()


def load_spec(spec: str) -> tuple[str, list[Sample] | list]:
    """Resolve a spec to ``(kind, items)``: samples, or brackets for ``brackets:`` and ``shared:heldout``."""
    kind, opt, rest = parse_spec(spec)
    if kind == "shared":
        if rest == "heldout":
            from exposurekit.evaluate.heldout import heldout_brackets

            return "brackets", heldout_brackets()
        if rest not in SHARED_SETS:
            raise ValueError(f"unknown shared set {rest!r}; known: heldout, {', '.join(SHARED_SETS)}")
        folder, pattern = SHARED_SETS[rest]
        root = _shared_root() / folder
        if not root.is_dir():
            raise ValueError(f"{root}: shared data not present")
        return "folder", load_folder(root, pattern)
    root = Path(rest).expanduser()
    if kind == "brackets":
        from exposurekit.data.brackets import load_brackets

        return "brackets", load_brackets(root)
    loaders = {"msec": lambda r: load_msec(r, opt or "c"), "sice": load_sice_pairs, "lol": load_lol,
               "baid": load_baid, "pairs": load_generic_pairs, "folder": load_folder}
    return kind, loaders[kind](root)


def load_pairs(spec: str) -> list[Sample]:
    """Samples of a paired (or no-reference folder) spec; raises for bracket specs."""
    kind, items = load_spec(spec)
    if kind == "brackets":
        raise ValueError(f"{spec!r} is a set of brackets; use exposurekit.evaluate.evaluate_brackets")
    return items  # type: ignore[return-value]


class PairedImages(torch.utils.data.Dataset):
    """``(input, target)`` tensors of samples, for training or evaluation loops.

    Args:
        samples: from :func:`load_pairs` (targets may be ``None``: then the target is the input).
        size: ``None`` native, an int for a square squash (UEC's 256×256 protocol), or ``("long", N)``.

    Returns per item:
        ``(input (3, H, W), target (3, H, W), index)`` float in [0, 1].
    """

    def __init__(self, samples: Sequence[Sample], size: int | tuple[str, int] | None = None) -> None:
        self.samples = list(samples)
        self.size = size

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, path: Path) -> Tensor:
        from exposurekit.evaluate.runner import load_sized

        return load_sized(path, self.size)[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, int]:
        s = self.samples[i]
        x = self._load(s.input)
        y = self._load(s.target) if s.target is not None else x
        return x, y, i
