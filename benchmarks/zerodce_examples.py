"""Zero-DCE examples: input | output pairs (long side 256 px by default) for a few shared low-light and backlit photos.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/zerodce_examples.py --side 256 --out docs/zerodce_examples.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import exposurekit as ek
from exposurekit.evaluate.heldout import default_data_root
from exposurekit.io import read_image
from exposurekit.ops import array_to_tensor, tensor_to_array


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None, help="zerodce weights (default: shipped)")
    ap.add_argument("--side", type=int, default=384)
    ap.add_argument("--out", type=Path, default=Path("docs/zerodce_examples.png"))
    args = ap.parse_args()
    root = default_data_root()
    files = []
    for folder in ("zerodce_test/DICM", "zerodce_test/LIME", "sci_lowlight_samples/difficult", "backlit_web_ovd0312"):
        found = sorted(p for p in (root / folder).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
        files += found[:: max(1, len(found) // 2)][:2]
    if not files:
        raise SystemExit(f"no photos under {root}")
    method = ek.load_method("zerodce", weights=args.weights)
    rows = []
    for f in files:
        x = array_to_tensor(read_image(f).rgb)
        x = torch.nn.functional.interpolate(x, scale_factor=args.side / max(x.shape[-2:]), mode="area")
        y = method.correct(x)
        rows.append(np.concatenate([tensor_to_array(x, np.uint8), tensor_to_array(y, np.uint8)], axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(args.out)
    print(f"{len(files)} photos → {args.out}")


if __name__ == "__main__":
    main()
