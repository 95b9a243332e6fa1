"""Robustness of the shipped SIMR to a degraded semantic prior (held-out brackets, shared protocol).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_degraded_prior.py [--long-side 256] [--sigmas 0,0.5,1,2]

Gaussian noise of σ × the features' own per-channel std is added to the prior's feature maps at
inference (fixed seed); the network and weights are the shipped ones. σ = 0 is the unchanged model.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings

import torch

from exposurekit.evaluate import evaluate_brackets, heldout_brackets
from exposurekit.methods import load_method


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--long-side", type=int, default=256)
    ap.add_argument("--sigmas", default="0,0.5,1,2")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    brackets = heldout_brackets()
    rows = []
    for sigma in (float(s) for s in args.sigmas.split(",")):
        m = load_method("simr")
        base = m.semantic_features

        def noisy(x, base=base, sigma=sigma):
            f = base(x)
            if f is None or sigma == 0:
                return f
            g = torch.Generator().manual_seed(0)
            return f + sigma * torch.randn(f.shape, generator=g) * f.std((0, 2, 3), keepdim=True)

        m.semantic_features = noisy
        res = evaluate_brackets(m, brackets, args.long_side)
        rows.append((sigma, res["mean"], res["input_mean"]))
        print(sigma, res["mean"], file=sys.stderr, flush=True)
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_degraded_prior.py " + " ".join(map(shlex.quote, sys.argv[1:]))
    print(f"`{cmd}`\n")
    print("| prior features | PSNR | SSIM | ΔE2000 | frames |")
    print("|---|---|---|---|---|")
    for sigma, r, _ in rows:
        label = "unchanged (shipped model)" if sigma == 0 else f"+ noise σ = {sigma:g} × std"
        print(f"| {label} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['delta_e']:.2f} | {r['n']} |")
    print(f"| input (no correction) | {rows[0][2]['psnr']:.2f} | {rows[0][2]['ssim']:.3f} | {rows[0][2]['delta_e']:.2f} | |")


if __name__ == "__main__":
    main()
