"""Fit the NIQE pristine model on the clean photographs of ../shared/data and ship it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fit_niqe.py [--data ../shared/data] [--long-side 1024]

Writes src/exposurekit/weights/niqe_pristine.safetensors (mean (36,), cov (36, 36)).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from exposurekit.io import expand_inputs, read_image
from exposurekit.metrics.niqe import DEFAULT_MODEL, fit_niqe_model
from exposurekit.ops import array_to_tensor, resize_long_side

SETS = ("clean_kodak24", "clean_skimage_data", "clean_debian_lomiri_wallpapers_1604", "clean_debian_mate_nature")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--long-side", type=int, default=1024)
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_MODEL)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    images, names = [], []
    for s in SETS:
        for p in expand_inputs([args.data / s]):
            x = array_to_tensor(read_image(p).rgb)
            images.append(resize_long_side(x, args.long_side)[0])
            names.append(f"{s}/{p.name}")
    info = (f"fitted by exposurekit benchmarks/fit_niqe.py on {len(images)} clean photos "
            f"({', '.join(SETS)}) with the long side capped at {args.long_side}, patch 96, sharpness 0.75")
    model = fit_niqe_model(images, info=info)
    model.save(args.output)
    print(f"{info}\n-> {args.output} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
