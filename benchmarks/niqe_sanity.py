"""Sanity check of the shipped NIQE model on photos it was NOT fitted on: scores should rise with blur and noise.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/niqe_sanity.py

Prints a markdown table: NIQE of the photo, after Gaussian blur (σ 1, 2, 4 px) and after Gaussian noise
(σ 0.02, 0.05, 0.1), at long side 512. Photos: the first low-light SCI sample and the first two backlit photos.
"""

from __future__ import annotations

import glob

import cv2
import torch

from exposurekit.evaluate import load_sized
from exposurekit.evaluate.heldout import default_data_root
from exposurekit.metrics import niqe


def main() -> str:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = default_data_root()
    paths = sorted(glob.glob(str(root / "sci_lowlight_samples" / "**" / "*.*"), recursive=True))[:1]
    paths += sorted(glob.glob(str(root / "backlit_web_ovd0312" / "*")))[:2]
    lines = ["| photo | clean | blur 1 | blur 2 | blur 4 | noise .02 | noise .05 | noise .1 |", "|---|---|---|---|---|---|---|---|"]
    for p in paths:
        x = load_sized(p, ("long", 512))
        cells = [float(niqe(x))]
        for s in (1, 2, 4):
            y = cv2.GaussianBlur(x[0].permute(1, 2, 0).numpy(), (0, 0), s)
            cells.append(float(niqe(torch.from_numpy(y).permute(2, 0, 1)[None])))
        for n in (0.02, 0.05, 0.1):
            cells.append(float(niqe((x + n * torch.randn_like(x)).clamp(0, 1))))
        lines.append(f"| {p.split('/')[-2]}/{p.split('/')[-1]} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    md = "\n".join(lines)
    print(md)
    return md


if __name__ == "__main__":
    main()
