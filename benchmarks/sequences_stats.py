"""Numbers for the `sequences` section of docs/results.md (prints Markdown).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sequences_stats.py [--data ../shared/data] [--heldout]

Measures: RAW EV 0 vs rawpy's default postprocess; mean luminance per EV of sequences synthesized from every
clean photo (sRGB unprocessing) and from the RAW samples; SICE scene recovery against the hand-labelled
boundaries in tests/test_sequences_brackets.py (with two simpler rules for comparison) and its run time;
the bracket counts per dataset and split; dataset read throughput. ``--heldout`` prints the held-out scene
lists for docs/sequences.md instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_sequences_brackets import (  # noqa: E402  (the hand labels live with the test)
    SICE_BOUNDARIES,
    SICE_CHECKED_RANGES,
    SICE_DIFFERENT,
    SICE_SAME_SCENE,
)

from exposurekit.data.brackets import shared_brackets  # noqa: E402
from exposurekit.data.sequences import ExposurePairDataset, SequenceDataset  # noqa: E402
from exposurekit.data.sice import (  # noqa: E402
    SiceRecoveryParams,
    _group,
    _structure_feature,
    frame_number,
    recover_sice_scenes,
    thumbnail_luminance,
)
from exposurekit.isp.raw import compare_with_rawpy, render_bayer, render_raw  # noqa: E402
from exposurekit.isp.unprocess import render_srgb_evs  # noqa: E402
from exposurekit.ops import luminance  # noqa: E402

CLEAN_SETS = ("clean_kodak24", "clean_skimage_data", "clean_debian_lomiri_wallpapers_1604", "clean_debian_mate_nature")
EVS = (-3.0, -2.0, -1.5, -1.0, 0.0, 1.0, 1.5, 2.0, 3.0)


def _thumb(path: Path, long_side: int = 256) -> torch.Tensor:
    with Image.open(path) as im:
        im.draft("RGB", (long_side * 2, long_side * 2))
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def raw_section(data: Path) -> None:
    kdc = data / "raw_samples" / "RAW_KODAK_DC50.KDC"
    d = compare_with_rawpy(kdc)
    print("**RAW EV 0 vs `rawpy.imread(f).postprocess()` (all defaults)**, Kodak DC50 KDC, 768×512, 8-bit levels:\n")
    print("| mean abs | 99th pct abs | max abs | auto-bright gain | documented tolerance |")
    print("|---|---|---|---|---|")
    print(f"| {d['mean_abs']:.3f} | {d['p99_abs']:.0f} | {d['max_abs']:.0f} | {d['gain']:.3f} | mean ≤ 0.5, max ≤ 1 |\n")
    frames, _ = render_raw(kdc, EVS)
    from exposurekit.io import read_image

    mosaic = read_image(data / "raw_samples" / "halide_bayer_small.png").rgb[..., 0]
    bay, _ = render_bayer(mosaic, "GRBG", black_level=25, white_level=1023, evs=EVS)
    print("**Mean sRGB luma per EV, RAW pipeline** (`render_raw`, BT.709 curve; `render_bayer`, sRGB curve):\n")
    print("| sample | " + " | ".join(f"{e:+g}" for e in EVS) + " |")
    print("|---|" + "---|" * len(EVS))
    for name, f in (("RAW_KODAK_DC50.KDC", frames), ("halide_bayer_small.png (GRBG)", bay)):
        m = luminance(f).mean((1, 2, 3))
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in m) + " |")
    print()


def srgb_section(data: Path) -> None:
    rows = []
    for s in CLEAN_SETS:
        for f in sorted((data / s).iterdir()):
            if f.suffix.lower() in (".png", ".jpg", ".jpeg"):
                fr, _ = render_srgb_evs(_thumb(f), EVS, generator=torch.Generator().manual_seed(len(rows)))
                rows.append(luminance(fr).mean((1, 2, 3)).numpy())
    a = np.stack(rows)
    mono = int((np.diff(a, axis=1) > 0).all(1).sum())
    print(f"**Mean sRGB luma per EV, sRGB unprocessing**, all {len(a)} clean photos (long side 256, seed = index); "
          f"luminance rises with EV in **{mono}/{len(a)}** photos:\n")
    print("| statistic | " + " | ".join(f"{e:+g}" for e in EVS) + " |")
    print("|---|" + "---|" * len(EVS))
    for name, v in (("mean", a.mean(0)), ("min", a.min(0)), ("max", a.max(0))):
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in v) + " |")
    steps = np.diff(a, axis=1)
    print(f"\nSmallest step between neighbouring EVs over all photos: {steps.min():.2e} "
          f"(between EV {EVS[int(np.argmin(steps.min(0)))]:+g} and {EVS[int(np.argmin(steps.min(0))) + 1]:+g}).\n")


def _score(scene_of: dict[int, str]) -> tuple[str, str, str, str]:
    hit = sum(scene_of[a] != scene_of[a + 1] for a in SICE_BOUNDARIES)
    extra = sum(1 for lo, hi in SICE_CHECKED_RANGES for a in range(lo, hi)
                if scene_of[a] != scene_of[a + 1] and a not in SICE_BOUNDARIES)
    same = sum(scene_of[a] == scene_of[b] for a, b in SICE_SAME_SCENE)
    diff = sum(scene_of[a] != scene_of[b] for a, b in SICE_DIFFERENT)
    return (f"{hit}/{len(SICE_BOUNDARIES)}", str(extra), f"{same}/{len(SICE_SAME_SCENE)}",
            f"{diff}/{len(SICE_DIFFERENT)}")


def sice_section(data: Path) -> None:
    root = data / "sice_part1_512_zerodcepp_train"
    files = sorted((f for f in root.iterdir() if frame_number(f) is not None), key=frame_number)
    nums = [frame_number(f) for f in files]
    t = time.perf_counter()
    scenes = recover_sice_scenes(root, use_cache=False)
    cold = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["EXPOSUREKIT_CACHE_DIR"] = tmp
        recover_sice_scenes(root)
        t = time.perf_counter()
        recover_sice_scenes(root)
        warm = time.perf_counter() - t
        del os.environ["EXPOSUREKIT_CACHE_DIR"]
    lum = [thumbnail_luminance(f, 32) for f in files]
    means = np.array([y.mean() for y in lum])
    feats = np.stack([_structure_feature(y) for y in lum])

    def as_map(groups: list[list[int]]) -> dict[int, str]:
        return {nums[i]: str(k) for k, g in enumerate(groups) for i in g}

    # rule A: a new scene wherever mean luminance drops (the "runs dark->bright" reading of the MANIFEST)
    cut = [0] + [i for i in range(1, len(nums)) if means[i] < means[i - 1] or nums[i] - nums[i - 1] > 1]
    a_groups = [list(range(s, e)) for s, e in zip(cut, cut[1:] + [len(nums)], strict=True)]
    # rules B-D: the structure rule with its steps switched on one by one
    off = {"stray_max_size": 0, "merge_threshold": 2.0}
    variants = [
        ("structure, adjacent frames only", SiceRecoveryParams(window=1, **off)),
        ("+ window 2", SiceRecoveryParams(window=2, **off)),
        ("+ strays", SiceRecoveryParams(window=2, merge_threshold=2.0)),
    ]
    ours = {frame_number(f): name for name, fr in scenes.items() for f in fr}
    print(f"**SICE Part 1 scene recovery** (1,364 frames; {len(SICE_BOUNDARIES)} hand-labelled boundaries, "
          f"every frame pair checked in {len(SICE_CHECKED_RANGES)} ranges covering "
          f"{sum(hi - lo for lo, hi in SICE_CHECKED_RANGES)} pairs, {len(SICE_SAME_SCENE)} same-scene pairs "
          f"including far-away stray frames, {len(SICE_DIFFERENT)} look-alike different-scene pairs):\n")
    print("| rule | scenes | boundaries found | extra boundaries in checked ranges | same-scene pairs kept | look-alikes kept apart |")
    print("|---|---|---|---|---|---|")
    rows = [("luminance drops", as_map(a_groups), len(a_groups))]
    for name, prm in variants:
        g = _group(nums, feats, prm)
        rows.append((name, as_map(g), len(g)))
    rows.append(("**+ look-alike merge (shipped)**", ours, len(scenes)))
    for name, m, n in rows:
        print(f"| {name} | {n} | " + " | ".join(_score(m)) + " |")
    sizes = np.bincount([len(v) for v in scenes.values()])
    print(f"\nShipped rule: {len(scenes)} scenes; scenes per length: " +
          ", ".join(f"{k} frames: {c}" for k, c in enumerate(sizes) if c) + f". First run {cold:.1f} s "
          f"(1,364 JPEG drafts at 64 px, one thread), cached {warm * 1000:.0f} ms.\n")


def datasets_section(data: Path) -> None:
    t = time.perf_counter()
    bs = shared_brackets(data)
    t_load = time.perf_counter() - t
    print(f"**Real brackets** (`shared_brackets`, {t_load:.2f} s with warm caches):\n")
    print("| dataset | scenes | train | held out | frames | frames per scene |")
    print("|---|---|---|---|---|---|")
    for ds in ("sice", "mef", "deepfuse", "mefb"):
        b = [x for x in bs if x.dataset == ds]
        held = sum(x.held_out for x in b)
        n = [len(x.frames) for x in b]
        print(f"| {ds} | {len(b)} | {len(b) - held} | {held} | {sum(n)} | {min(n)}–{max(n)} |")
    sice = [x for x in bs if x.dataset == "sice"]
    pairs = ExposurePairDataset(sice, crop=256, references=True, seed=0)
    t = time.perf_counter()
    n = 40
    for i in range(n):
        pairs[i]
    t_pair = (time.perf_counter() - t) / n
    seqs = SequenceDataset(sice, long_side=512)
    t = time.perf_counter()
    for i in range(10):
        seqs[i]
    t_seq = (time.perf_counter() - t) / 10
    print(f"\nRead cost, one thread: `ExposurePairDataset` (SICE, crop 256, with cross-scene references: 4 frames "
          f"decoded) {t_pair * 1000:.0f} ms/item; `SequenceDataset` (SICE, whole sequence at 512) "
          f"{t_seq * 1000:.0f} ms/item.\n")


def heldout(data: Path) -> None:
    bs = shared_brackets(data)
    for ds in ("sice", "mef", "deepfuse", "mefb"):
        names = sorted(b.scene for b in bs if b.dataset == ds and b.held_out)
        print(f"- **{ds}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--heldout", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.heldout:
        heldout(args.data)
        return
    raw_section(args.data)
    srgb_section(args.data)
    sice_section(args.data)
    datasets_section(args.data)


if __name__ == "__main__":
    main()
