"""No-reference tables: methods on sets without ground truth, plus Mertens fusion of held-out brackets.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/noref_sets.py --methods linear-gain,auto-gamma,clahe,histeq \
        [--sets mefb-over,mefb-under,dicm,lime,backlit,clip-lit] [--size long:512] [--fusion] \
        [--out noref.md] [--json noref.json] [--update-results]

Scores per image (means in the tables): ``Ȳ err`` = |mean sRGB luma − 0.5|, crushed-shadow and clipped-highlight
fractions (all channels ≤ 1/255; any channel ≥ 254/255), Hasler–Süsstrunk colourfulness and NIQE with this
project's pristine model (fitted on ../shared/data/clean_*, see docs/evaluation.md) — lower NIQE = closer to
those clean photos' statistics. ``--fusion`` adds Mertens (``SequenceMethod.fuse``) on every held-out bracket,
scored the same way next to the bracket's middle frame.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from exposurekit.evaluate import evaluate_spec
from exposurekit.evaluate.report import markdown_table, replace_block

KEYS = ["lum_err", "mean_lum", "shadows", "highlights", "colourfulness", "niqe", "ms"]


def fusion_rows(size: int) -> list[dict]:
    from exposurekit.data.brackets import read_bracket
    from exposurekit.evaluate import heldout_brackets, pick_target
    from exposurekit.evaluate.runner import no_reference_scores, summarize
    from exposurekit.methods import load_method

    fuse = load_method("mertens")
    rows_mid, rows_fused = [], []
    t_total = 0.0
    for b in heldout_brackets():
        stack = read_bracket(b, long_side=size)
        mid = stack[pick_target(list(stack.split(1)))][None]
        t0 = time.perf_counter()
        with torch.no_grad():
            fused = fuse.fuse(stack)
        t_total += time.perf_counter() - t0
        for rows, img in ((rows_mid, mid), (rows_fused, fused)):
            s = no_reference_scores(img)
            rows.append({"name": f"{b.dataset}/{b.scene}", **{k: float(v[0]) for k, v in s.items()}})
    mid, fu = summarize(rows_mid)["mean"], summarize(rows_fused)["mean"]
    return [{"method": "middle frame (target of the bracket protocol)", **mid},
            {"method": "mertens fusion of all frames", **fu, "ms": 1000 * t_total / max(len(rows_fused), 1)}]


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", required=True)
    ap.add_argument("--sets", default="mefb-over,mefb-under,dicm,lime,backlit,clip-lit")
    ap.add_argument("--size", default="long:512")
    ap.add_argument("--fusion", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--update-results", action="store_true",
                    help="replace <!-- noref --> ... <!-- /noref --> in docs/results.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/noref_sets.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    parts = [f"`{cmd}`", ""]
    dump = {}
    for s in args.sets.split(","):
        results = []
        for m in args.methods.split(","):
            t0 = time.time()
            results.append(evaluate_spec(m, f"shared:{s}", size=args.size))
            print(f"{s} {m}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
        rows = [{"method": "input (no correction)", **results[0]["input_mean"]}]
        rows += [{"method": r["method"], **r["mean"], "ms": r["ms_per_image"]} for r in results]
        parts += [f"**{s}** ({results[0]['mean']['n']} images, {args.size}):", "", markdown_table(rows, KEYS), ""]
        dump[s] = results
    if args.fusion:
        long_side = int(args.size.split(":")[1]) if args.size.startswith("long:") else 512
        rows = fusion_rows(long_side)
        parts += [f"**Mertens fusion, held-out SICE/MEF/DeepFuse brackets** ({rows[0]['n']} scenes, long side "
                  f"{long_side}; no reference):", "", markdown_table(rows, KEYS), ""]
        dump["fusion"] = rows
    md = "\n".join(parts)
    print(md)
    if args.out:
        args.out.write_text(md)
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1, default=str))
    if args.update_results:
        replace_block(Path(__file__).resolve().parents[1] / "docs" / "results.md", "noref", md)
    return md


if __name__ == "__main__":
    main()
