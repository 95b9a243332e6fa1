"""SIMR ablations on held-out brackets with short training runs (cheap by design).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_ablations.py --classifier runs/simr/classifier.safetensors

Every variant is trained with the same short recipe (``SHORT``: 40 training brackets, 3 frames each,
3 epochs × 25 steps of 4 crops of 96², Adam 1e-3; region pseudo-targets from the shared classifier),
then scored with the shared protocol (``exposurekit.evaluate.evaluate_brackets``) on the held-out
brackets at long side 256 (smaller than the main table's 512 to keep it cheap). Variants: ASF on/off;
prior none / superpixels / a tiny random FastSAM-style ONNX model (shows the path, carries no
semantics); d_state 1/4/8/16 (score and seconds per 256² image). The degraded-prior rows take the
default variant and add Gaussian noise (σ × the features' own std) to the prior features at inference.
Results are kept in ``runs/simr/ablations/*.json`` so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch

from exposurekit.evaluate import evaluate_brackets, heldout_brackets
from exposurekit.methods.simr import SIMR

SHORT = {"epochs": 3, "steps_per_epoch": 25, "batch_size": 4, "crop": 96, "lr": 1e-3, "threads": 1}
EXTRA = {"max_brackets": 40, "frames_per_bracket": 3, "target_mode": "region", "side": 256}

VARIANTS = {
    "default (ASF on, superpixels, d_state 8)": {},
    "ASF off": {"net": {"use_asf": False}},
    "prior none": {"prior": "none"},
    "prior tiny random FastSAM (ONNX)": {"prior": "fastsam"},
    "d_state 1": {"net": {"d_state": 1}},
    "d_state 4": {"net": {"d_state": 4}},
    "d_state 16": {"net": {"d_state": 16}},
}


def _score(method, brackets, long_side):
    res = evaluate_brackets(method, brackets, long_side)
    x = torch.rand(1, 3, 256, 256)
    method.correct(x)
    t = min(_time(method, x) for _ in range(3))
    return {"psnr": res["mean"]["psnr"], "ssim": res["mean"]["ssim"], "delta_e": res["mean"]["delta_e"],
            "n": res["mean"]["n"], "input_psnr": res["input_mean"]["psnr"], "s_per_256": t}


def _time(method, x):
    t = time.perf_counter()
    method.correct(x)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--out", default="runs/simr/ablations")
    ap.add_argument("--long-side", type=int, default=256)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    brackets = heldout_brackets()
    fastsam = out / "fastsam-random.onnx"
    if not fastsam.exists():
        from exposurekit.priors.fastsam import export_random_fastsam

        export_random_fastsam(fastsam)
    rows = {}
    for i, (name, spec) in enumerate(VARIANTS.items()):
        f = out / f"variant{i}.json"
        if args.only is not None and str(i) not in args.only:
            if f.exists():
                rows[name] = json.loads(f.read_text())
            continue
        if f.exists():
            rows[name] = json.loads(f.read_text())
            continue
        prior = spec.get("prior", "superpixels")
        m = SIMR(preset="simr", prior=prior, prior_path=fastsam if prior == "fastsam" else None,
                 tile=4096, **spec.get("net", {}))
        m.name = "simr"
        t0 = time.perf_counter()
        m.fit(None, run_dir=out / f"run{i}", progress=False, **SHORT,
              extra={**EXTRA, "classifier": args.classifier})
        train_s = time.perf_counter() - t0
        row = {**_score(m, brackets, args.long_side), "train_s": train_s}
        f.write_text(json.dumps(row))
        rows[name] = row
        print(name, row, flush=True)
        if i == 0:
            m.save_weights(out / "default.safetensors")
    # degraded prior on the default variant
    dfile = out / "degraded.json"
    if (out / "default.safetensors").exists() and not dfile.exists() and (args.only is None or "d" in args.only):
        deg = {}
        for sigma in (0.5, 1.0, 2.0):
            m = SIMR(preset="simr", tile=4096)
            m.load_weights(out / "default.safetensors")
            base = m.semantic_features

            def noisy(x, base=base, sigma=sigma):
                f = base(x)
                g = torch.Generator().manual_seed(0)
                return f + sigma * torch.randn(f.shape, generator=g) * f.std((0, 2, 3), keepdim=True)

            m.semantic_features = noisy
            deg[f"prior features + noise σ = {sigma} std"] = _score(m, brackets, args.long_side)
            print(sigma, deg[f"prior features + noise σ = {sigma} std"], flush=True)
        dfile.write_text(json.dumps(deg))
    if dfile.exists():
        rows.update(json.loads(dfile.read_text()))
    print(f"\nheld-out brackets (SICE/MEF/DeepFuse), long side {args.long_side}, n = frames scored\n")
    print("| variant | PSNR | SSIM | ΔE2000 | s per 256² image | train s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['delta_e']:.2f} | {r['s_per_256']:.3f} | "
              f"{r.get('train_s', float('nan')):.0f} |")
    if rows:
        r = next(iter(rows.values()))
        print(f"| input (no correction) | {r['input_psnr']:.2f} | | | | |")


if __name__ == "__main__":
    main()
