"""Score methods with the shared held-out bracket protocol and write a markdown table (+ JSON).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/heldout_brackets.py --methods linear-gain,auto-gamma,clahe,histeq \
        [--datasets sice,mef,deepfuse] [--long-side 512] [--edges] [--out docs/heldout.md] [--json out.json] \
        [--weights NAME=PATH ...] [--limit N]

Protocol: see ``exposurekit.evaluate.heldout`` (target = middle frame of each held-out bracket, every
other frame corrected and scored against it, grouped by step offset). The table printed (and written
to ``--out``) has one row per method, one column per offset, PSNR / SSIM / ΔE00 per cell, then one
table per dataset. ``--update-results SECTION`` replaces the block between
``<!-- heldout:SECTION -->`` and ``<!-- /heldout:SECTION -->`` inside docs/results.md if those markers exist
in your own section.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from exposurekit.evaluate import brackets_markdown, evaluate_brackets, heldout_brackets


def _by_dataset(results: list[dict], dataset: str) -> list[dict]:
    out = []
    for r in results:
        rows = [row for row in r["rows"] if row["dataset"] == dataset]
        if not rows:
            continue
        from exposurekit.evaluate.heldout import summarize_rows

        out.append({**summarize_rows(rows, edges="edge_f1" in rows[0]), "method": r["method"]})
    return out


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", required=True, help="comma-separated registered method names")
    ap.add_argument("--datasets", default="sice,mef,deepfuse")
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--data-root", type=Path, default=None)
    ap.add_argument("--edges", action="store_true", help="also score Canny edge F1")
    ap.add_argument("--edge-weights", type=Path, default=None, help="PiDiNet/TEED checkpoint for edge F1")
    ap.add_argument("--weights", action="append", default=[], help="NAME=PATH weights for a learned method")
    ap.add_argument("--limit", type=int, default=None, help="only the first N brackets (smoke runs)")
    ap.add_argument("--out", type=Path, default=None, help="write the markdown here")
    ap.add_argument("--json", type=Path, default=None, help="write all results (with per-image rows) here")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="re-render the tables from a --json file of an earlier run (no recomputation)")
    ap.add_argument("--update-results", default=None, metavar="SECTION",
                    help="replace <!-- heldout:SECTION --> ... <!-- /heldout:SECTION --> in docs/results.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    weights = dict(w.split("=", 1) for w in args.weights)
    brackets = heldout_brackets(args.data_root, args.datasets.split(","))
    if args.limit:
        brackets = brackets[: args.limit]
    from exposurekit.methods import load_method

    detector = None
    results = []
    if args.from_json:
        from exposurekit.evaluate.heldout import summarize_rows

        results = json.loads(args.from_json.read_text())
        for r in results:  # recompute the groupings (JSON keeps them, but re-derive from the rows)
            r.update(summarize_rows(r["rows"], edges="edge_f1" in r["rows"][0]))
        args.methods = ",".join(r["method"] for r in results)
    elif args.edge_weights:
        from exposurekit.metrics.edges import load_edge_detector

        detector = load_edge_detector(args.edge_weights)
    for name in ([] if args.from_json else args.methods.split(",")):
        t0 = time.time()
        method = load_method(name, weights=weights.get(name))
        results.append(evaluate_brackets(method, brackets, long_side=args.long_side, edges=args.edges,
                                         edge_detector=detector))
        print(f"{name}: {results[-1]['mean']} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    if results and not results[0].get("edge_detector") and "edge_f1" in results[0]["rows"][0]:
        for r in results:
            r["edge_detector"] = "canny"
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/heldout_brackets.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    if args.from_json and results and results[0].get("command"):
        cmd = f"{results[0]['command']}` (tables re-rendered with `{cmd}"
    for r in results:
        r.setdefault("command", cmd)
    n_by_ds: dict[str, int] = {}
    for ds, _ in sorted({(row["dataset"], row["scene"]) for row in (results[0]["rows"] if results else [])}):
        n_by_ds[ds] = n_by_ds.get(ds, 0) + 1
    parts = [
        f"Held-out brackets ({', '.join(f'{k}: {v} scenes' for k, v in sorted(n_by_ds.items()))}), long side "
        f"{args.long_side}, target = middle frame; cells are PSNR / SSIM / ΔE00 by step offset from the target.",
        "",
        f"`{cmd}`",
        "",
        brackets_markdown(results, "all"),
    ]
    if results and "edge_f1" in results[0]["mean"]:
        parts += ["", f"Edge F1 ({results[0]['edge_detector']}, 2 px tolerance) by offset:", "",
                  brackets_markdown(results, "edge_f1")]
    for ds in sorted(n_by_ds):
        sub = _by_dataset(results, ds)
        if sub:
            parts += ["", f"{ds} only:", "", brackets_markdown(sub, "all")]
    md = "\n".join(parts) + "\n"
    print(md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md)
    if args.json and not args.from_json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    if args.update_results:
        from exposurekit.evaluate.report import replace_block

        replace_block(Path(__file__).resolve().parents[1] / "docs" / "results.md", f"heldout:{args.update_results}", md)
    return md


if __name__ == "__main__":
    main()
