"""UEC on the held-out real brackets, per offset, against the classical baselines (shared protocol).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uec_heldout.py [--long-side 512] [--weights W] \
        [--baselines linear-gain,auto-gamma,clahe,histeq] [--json out.json] [--out out.md]

Protocol: :mod:`exposurekit.evaluate.heldout` (``evaluate_brackets``): held-out SICE / MEF / DeepFuse
brackets with ≥ 3 frames, target = middle frame, every other frame corrected by the method alone and
scored with PSNR / SSIM (Gaussian 11, σ 1.5, RGB) / CIEDE2000 at long side 512. UEC rows:

* ``uec`` — shipped weights, default target (what ``exposurekit correct`` does);
* ``uec (target=auto)`` — per image, the EV offset whose output histogram is nearest a well-exposed one;
* ``uec (exact)`` — default target, network on every pixel instead of the 33³ table (same numbers
  expected; a check of the fast path).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--weights", type=Path, default=None, help="UEC weights (default: shipped)")
    ap.add_argument("--baselines", default="linear-gain,auto-gamma,clahe,histeq")
    ap.add_argument("--datasets", default="sice,mef,deepfuse")
    ap.add_argument("--no-exact", action="store_true", help="skip the exact-path row")
    ap.add_argument("--variants", default="default,auto", help="UEC rows: default, auto (exact unless --no-exact)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from exposurekit.evaluate import evaluate_brackets, heldout_brackets
    from exposurekit.methods import load_method

    brackets = heldout_brackets(None, args.datasets.split(","))
    methods = []
    variants = [("uec", {}, "default"), ("uec (target=auto)", {"target": "auto"}, "auto"),
                ("uec (exact)", {"path": "exact"}, "exact")]
    wanted = set(args.variants.split(",")) | (set() if args.no_exact else {"exact"})
    for label, kw, key in variants:
        if key not in wanted:
            continue
        m = load_method("uec", weights=args.weights, **kw)
        m.name = label
        methods.append(m)
    methods += [load_method(n) for n in args.baselines.split(",") if n]
    results = []
    text = ""
    for m in methods:
        t0 = time.time()
        results.append(evaluate_brackets(m, brackets, long_side=args.long_side))
        print(f"{m.name}: {results[-1]['mean']} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        text = _report(args, argv, brackets, results)  # written after every method (long runs)
    print(text)
    return text


def _report(args: argparse.Namespace, argv: list[str] | None, brackets: list, results: list[dict]) -> str:
    from exposurekit.evaluate import brackets_markdown
    from exposurekit.evaluate.heldout import summarize_rows

    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/uec_heldout.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    counts: dict[str, int] = {}
    for b in brackets:
        counts[b.dataset] = counts.get(b.dataset, 0) + 1
    parts = [f"`{cmd}`", "",
             f"Held-out brackets ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))} scenes), long side "
             f"{args.long_side}, target = middle frame; cells PSNR / SSIM / ΔE00 by frame offset from the target "
             "(negative = darker input).", "", brackets_markdown(results, "all")]
    for ds in sorted(counts):
        sub = []
        for r in results:
            rows = [row for row in r["rows"] if row["dataset"] == ds]
            if rows:
                sub.append({**summarize_rows(rows), "method": r["method"]})
        parts += ["", f"**{ds}** only:", "", brackets_markdown(sub, "all")]
    text = "\n".join(parts)
    if args.out:
        args.out.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "rows"} for r in results], indent=1))
    return text


if __name__ == "__main__":
    main()
