"""UEC lookup-table paths vs the network on every pixel, on real 8-bit photos.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uec_lut_error.py [--long-side 768] [--limit 40] [--out F.md]

Images: every frame of the held-out brackets (SICE, MEF, DeepFuse, MEFB) and the clean photos of
``../shared/data`` (these cover dark, bright and well-exposed inputs), long side capped at
``--long-side``. For each image λ is computed once (shipped weights, default target); then

* ``exact``: the three passes of the network on every pixel, float, rounded to 8 bit at the end;
* ``lut8``: ``correct_array`` on the uint8 image: a 65³ table applied by Pillow's ``Color3DLUT``;
* ``lut``: the 33³ table of ``correct`` (65³ for steep maps), float trilinear (``grid_sample``),
  rounded to 8 bit;

each with the table baked from the cached table of ``g`` (default) or from the network at every node
(``exact_bake=True``). Errors are in 8-bit levels against ``exact``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch


def _images(long_side: int, limit: int | None) -> list[tuple[str, np.ndarray]]:
    import cv2

    from exposurekit.data.brackets import shared_brackets
    from exposurekit.io import read_image
    from exposurekit.methods.uec import default_data_root

    root = default_data_root()
    files: list[tuple[str, Path]] = []
    for b in shared_brackets(root):
        if b.held_out:
            files += [(f"{b.dataset}/{b.scene}/{f.name}", f) for f in b.frames]
    for d in sorted(root.glob("clean_*")):
        files += [(f"{d.name}/{f.name}", f) for f in sorted(d.iterdir()) if f.suffix.lower() in (".png", ".jpg")]
    if limit:
        step = max(1, len(files) // limit)
        files = files[::step][:limit]
    out = []
    for name, f in files:
        a = read_image(f).rgb
        if a.dtype != np.uint8:
            a = (a.astype(np.float32) / 257).round().astype(np.uint8)
        s = long_side / max(a.shape[:2])
        if s < 1:
            a = cv2.resize(a, (round(a.shape[1] * s), round(a.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out.append((name, np.ascontiguousarray(a)))
    return out


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long-side", type=int, default=768)
    ap.add_argument("--limit", type=int, default=40, help="at most this many images (evenly spaced)")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from PIL import Image

    from exposurekit.methods import load_method
    from exposurekit.models.uec import lookup

    m = load_method("uec", weights=args.weights)
    imgs = _images(args.long_side, args.limit)
    stats: dict[str, list[np.ndarray]] = {}
    per_image: list[tuple[float, float, float, str]] = []  # (lut8 max error, its > 1 share, slope, name)
    worst: dict[str, tuple[float, str]] = {}
    for name, a in imgs:
        x = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            state = m.analyze(m._small_from_u8(a))
            exact = m._apply_exact(x, state.lambdas)
            ex8 = (exact[0].permute(1, 2, 0) * 255).round().numpy()
            for bake in ("g-table", "exact"):
                lut = m.bake(state.lambdas, exact=bake == "exact")
                if bake == "g-table":  # exactly what `exposurekit correct` does (65³ table on photos)
                    l8 = m.correct_array(a).astype(np.float32)
                else:
                    big = m.bake(state.lambdas, exact=True, size=m.photo_lut_size)
                    l8 = np.asarray(m._pillow_lut(Image.fromarray(a, "RGB"), big[0])).astype(np.float32)
                lf = (lookup(lut, x).clamp(0, 1)[0].permute(1, 2, 0) * 255).round().numpy()
                lf_raw = (lookup(lut, x).clamp(0, 1) - exact).abs().mul(255).numpy().ravel()
                if bake == "g-table":
                    e8 = np.abs(l8 - ex8)
                    per_image.append((float(e8.max()), float((e8 > 1).mean()),
                                      float(m.max_slope(state.lambdas)[0]), name))
                for key, err in ((f"lut8 (correct_array), bake {bake}", np.abs(l8 - ex8).ravel()),
                                 (f"lut (float), bake {bake}", np.abs(lf - ex8).ravel()),
                                 (f"lut (float, unrounded), bake {bake}", lf_raw)):
                    stats.setdefault(key, []).append(err)
                    if err.max() > worst.get(key, (-1.0, ""))[0]:
                        worst[key] = (float(err.max()), name)
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uec_lut_error.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    lines = [f"`{cmd}`", "",
             f"{len(imgs)} real photos (held-out bracket frames + clean photos), long side ≤ {args.long_side}; "
             "errors in 8-bit levels vs the network on every pixel (rounded to 8 bit).", "",
             "| path | max | 99.99th pct | mean | pixels-channels > 1 level | worst image |", "|---|---|---|---|---|---|"]
    for key, errs in stats.items():
        e = np.concatenate(errs)
        lines.append(f"| {key} | {e.max():.2f} | {np.percentile(e, 99.99):.2f} | {e.mean():.3f} | "
                     f"{(e > 1.0 + 1e-6).mean() * 100:.4f} % | {worst[key][1]} |")
    ok = sum(1 for e, *_ in per_image if e <= 1.0)
    lines += ["", f"Per image (lut8 = correct_array): max error ≤ 1 level on {ok} of {len(per_image)} photos; "
              "the others, with the map's steepest grey-axis slope (output levels per input level):", "",
              "| image | max error | values > 1 level | slope |", "|---|---|---|---|"]
    for e, share, slope, name in sorted(per_image, reverse=True):
        if e > 1.0:
            lines.append(f"| {name} | {e:.0f} | {share * 100:.3f} % | {slope:.1f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
