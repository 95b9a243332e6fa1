"""LoopExpose benchmarks: fusion without reference, torch-vs-OpenCV Mertens, pseudo-label quality plot.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_eval.py fusion [--long-side 512] [--datasets ...]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_eval.py mertens-vs-opencv [--datasets mef,mefb,deepfuse]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_eval.py labels --history runs/loopexpose_cpu/history.json

* ``fusion``: every held-out bracket with >= 2 frames (MEFB pairs included) is fused by each fusion
  method; the results are scored *without reference* by ``exposurekit.evaluate.no_reference_scores``
  (|mean luma − 0.5|, clipped shadow / highlight fractions, colourfulness, NIQE). The best-exposed input
  frame (mean luma nearest 0.46) is scored too, as the "no fusion" line.
* ``mertens-vs-opencv``: our torch Mertens against OpenCV's ``createMergeMertens`` (fed RGB, same
  exponents 1, 1, 1) on every bracket of the named datasets at native size: abs difference statistics
  and time per megapixel.
* ``labels``: plot the pseudo-labels' PSNR on held-out scenes per epoch from a training history.

Correction (single image, with reference) uses the shared protocol script instead::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/heldout_brackets.py --methods loopexpose,uec,linear-gain,...
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def _cmd(argv: list[str] | None) -> str:
    args = argv if argv is not None else sys.argv[1:]
    return "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_eval.py " + " ".join(shlex.quote(a) for a in args)


def _brackets(data_root: Path | None, datasets: list[str], held_out: bool | None) -> list:
    from exposurekit.data.brackets import shared_brackets
    from exposurekit.evaluate.heldout import default_data_root

    bs = shared_brackets(data_root or default_data_root(), datasets=datasets)
    if held_out is not None:
        bs = [b for b in bs if b.held_out == held_out]
    return bs


def run_fusion(args: argparse.Namespace, argv: list[str] | None) -> str:
    from exposurekit.data.brackets import read_bracket
    from exposurekit.evaluate import no_reference_scores
    from exposurekit.fusion import mertens_fusion
    from exposurekit.methods import load_method

    brackets = [b for b in _brackets(args.data_root, args.datasets.split(","), True) if len(b) >= 2]
    if args.limit:
        brackets = brackets[: args.limit]
    methods: dict[str, object] = {}
    for name in args.methods.split(","):
        if name.endswith("+mertens"):  # a correction method applied to each frame, then torch Mertens
            corr = load_method(name[: -len("+mertens")], weights=args.weights.get(name[: -len("+mertens")]))
            methods[name] = (lambda c: (lambda st: mertens_fusion(torch.cat([c.correct(f[None]) for f in st]))))(corr)
        else:
            m = load_method(name, weights=args.weights.get(name))
            methods[name] = m.fuse
    keys = ("lum_err", "shadows", "highlights", "colourfulness", "niqe")
    rows: dict[str, list[dict[str, float]]] = {"best input frame (no fusion)": []}
    rows.update({k: [] for k in methods})
    secs = {k: 0.0 for k in methods}
    for b in brackets:
        stack = read_bracket(b, long_side=args.long_side)
        lum = (stack * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1).mean((1, 2))
        best = stack[int((lum - 0.46).abs().argmin())][None]
        outs = {"best input frame (no fusion)": best}
        for name, fn in methods.items():
            t0 = time.perf_counter()
            with torch.no_grad():
                outs[name] = fn(stack).clamp(0, 1)
            secs[name] += time.perf_counter() - t0
        for name, img in outs.items():
            sc = no_reference_scores(img, with_niqe=True)
            rows[name].append({"dataset": b.dataset, "scene": b.scene, **{k: float(sc[k][0]) for k in keys}})
        print(f"{b.dataset}/{b.scene}: {len(b)} frames", file=sys.stderr, flush=True)
    n_by = {}
    for b in brackets:
        n_by[b.dataset] = n_by.get(b.dataset, 0) + 1
    lines = [f"Fusion of held-out brackets ({', '.join(f'{k}: {v}' for k, v in sorted(n_by.items()))} scenes, "
             f"2–{max(len(b) for b in brackets)} frames), long side {args.long_side}, scored without reference "
             "(means; NIQE from `exposurekit.metrics.niqe`'s default model).", "", f"`{_cmd(argv)}`", "",
             "| method | \\|luma − 0.5\\| ↓ | shadows clipped ↓ | highlights clipped ↓ | colourfulness ↑ | NIQE ↓ "
             "| s / scene |", "|---|---|---|---|---|---|---|"]
    for name, rs in rows.items():
        vals = [np.nanmean([r[k] for r in rs]) for k in keys]
        t = f"{secs[name] / max(len(rs), 1):.2f}" if name in secs else "–"
        lines.append(f"| {name} | {vals[0]:.3f} | {vals[1]:.4f} | {vals[2]:.4f} | {vals[3]:.1f} | {vals[4]:.2f} | {t} |")
    md = "\n".join(lines) + "\n"
    if args.json:
        args.json.write_text(json.dumps({"command": _cmd(argv), "rows": rows}, indent=1))
    return md


def run_mertens_vs_opencv(args: argparse.Namespace, argv: list[str] | None) -> str:
    from exposurekit.data.brackets import read_bracket
    from exposurekit.fusion import mertens_fusion, mertens_opencv

    brackets = _brackets(args.data_root, args.datasets.split(","), None)
    if args.limit:
        brackets = brackets[: args.limit]
    per_ds: dict[str, dict[str, list[float]]] = {}
    for b in brackets:
        stack = read_bracket(b, long_side=args.long_side)
        t0 = time.perf_counter()
        ours = mertens_fusion(stack)
        t1 = time.perf_counter()
        ref = mertens_opencv(stack)
        t2 = time.perf_counter()
        d = (ours - ref).abs()
        mp = stack.shape[-1] * stack.shape[-2] * stack.shape[0] / 1e6
        s = per_ds.setdefault(b.dataset, {k: [] for k in ("max", "mean", "p999", "over1", "t_ours", "t_cv", "n")})
        s["max"].append(float(d.max()))
        s["mean"].append(float(d.mean()))
        s["p999"].append(float(torch.quantile(d.flatten()[:: max(1, d.numel() // 1_000_000)], 0.999)))
        s["over1"].append(float((d > 1 / 255).float().mean()))
        s["t_ours"].append((t1 - t0) / mp)
        s["t_cv"].append((t2 - t1) / mp)
        s["n"].append(len(b))
    lines = ["Torch Mertens (`exposurekit.fusion.mertens_fusion`) vs OpenCV `createMergeMertens(1, 1, 1)` fed RGB, "
             f"every bracket, long side {args.long_side or 'native'}; absolute differences on [0, 1] after clamping.",
             "", f"`{_cmd(argv)}`", "",
             "| dataset | brackets | frames | max \\|Δ\\| (worst bracket) | mean \\|Δ\\| | 99.9th pct \\|Δ\\| "
             "| pixels with \\|Δ\\| > 1/255 | ms per input MP, torch / OpenCV |", "|---|---|---|---|---|---|---|---|"]
    for ds, s in sorted(per_ds.items()):
        lines.append(f"| {ds} | {len(s['n'])} | {min(s['n'])}–{max(s['n'])} | {max(s['max']):.4f} | "
                     f"{np.mean(s['mean']):.2e} | {np.mean(s['p999']):.2e} | {100 * np.mean(s['over1']):.4f} % | "
                     f"{1000 * np.median(s['t_ours']):.0f} / {1000 * np.median(s['t_cv']):.0f} |")
    return "\n".join(lines) + "\n"


def run_labels(args: argparse.Namespace, argv: list[str] | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = json.loads(args.history.read_text())
    cfg_path = args.history.parent / "config.yaml"
    switch = None
    if cfg_path.exists():
        import yaml

        cfg = yaml.safe_load(cfg_path.read_text())
        switch = cfg.get("label_switch_epoch") or max(1, round(cfg["epochs"] / 4))
    ep = [h["epoch"] for h in hist]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(ep, [h["val_fusion_inputs_psnr"] for h in hist], "o-", label="Mertens of inputs (stage-1 label)")
    ax[0].plot(ep, [h["val_fusion_loop_psnr"] for h in hist], "s-", label="Mertens of corrections + inputs (loop label)")
    ax[0].plot(ep, [h["val_correction_psnr"] for h in hist], "^-", label="model's single-frame corrections")
    if switch is not None:
        ax[0].axvline(switch - 0.5, color="grey", ls="--", lw=1)
        ax[0].text(switch - 0.45, ax[0].get_ylim()[0], " labels switch", color="grey", fontsize=8, va="bottom")
    ax[0].set_xlabel("epoch (evaluated after it)")
    ax[0].set_ylabel("PSNR vs held-out middle frame (dB)")
    ax[0].legend(fontsize=7)
    ax[0].grid(alpha=0.3)
    for k in ("loss", "l1", "ssim_loss", "ranking"):
        ax[1].plot(ep, [h[k] for h in hist], "o-", label=k)
    ax[1].set_xlabel("epoch")
    ax[1].set_title("training loss terms (epoch means)", fontsize=9)
    ax[1].legend(fontsize=7)
    ax[1].grid(alpha=0.3)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    lines = ["| epoch | label used | loss | L1 | 1−SSIM | ranking | PSNR: Mertens of inputs | PSNR: loop label "
             "| PSNR: corrections |", "|---|---|---|---|---|---|---|---|---|"]
    for h in hist:
        used = "loop" if switch is not None and h["epoch"] >= switch else "inputs"
        lines.append(f"| {int(h['epoch'])} | {used} | {h['loss']:.4f} | {h['l1']:.4f} | {h['ssim_loss']:.4f} | "
                     f"{h['ranking']:.4f} | {h['val_fusion_inputs_psnr']:.2f} | {h['val_fusion_loop_psnr']:.2f} | "
                     f"{h['val_correction_psnr']:.2f} |")
    return f"`{_cmd(argv)}` → `{args.plot}`\n\n" + "\n".join(lines) + "\n"


def run_heldout_subset(args: argparse.Namespace, argv: list[str] | None) -> str:
    """Re-aggregate a held-out protocol result without some scenes (e.g. ones a model saw in training)."""
    from exposurekit.evaluate import brackets_markdown, summarize_rows

    results = json.loads(args.results.read_text())
    drop = {tuple(x) for x in json.loads(args.exclude.read_text())}
    out = []
    for r in results:
        rows = [row for row in r["rows"] if (row["dataset"], row["scene"]) not in drop]
        out.append({**summarize_rows(rows), "method": r["method"]})
    scenes = sorted({(row["dataset"], row["scene"]) for row in out[0]["rows"]})
    n_by: dict[str, int] = {}
    for ds, _ in scenes:
        n_by[ds] = n_by.get(ds, 0) + 1
    head = (f"Same protocol and rows, without {len(drop & {(row['dataset'], row['scene']) for r in results for row in r['rows']})}"
            f" scenes ({', '.join(f'{k}: {v}' for k, v in sorted(n_by.items()))} scenes kept).")
    return f"{head}\n\n`{_cmd(argv)}`\n\n{brackets_markdown(out, 'all')}\n"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["fusion", "mertens-vs-opencv", "labels", "heldout-subset"])
    ap.add_argument("--datasets", default=None, help="comma-separated (fusion: sice,mef,deepfuse,mefb; "
                                                     "mertens-vs-opencv: mef,mefb,deepfuse)")
    ap.add_argument("--methods", default="mertens-torch,mertens,loopexpose-fusion,uec+mertens,linear-gain+mertens")
    ap.add_argument("--weights", action="append", default=[], help="NAME=PATH for a learned method")
    ap.add_argument("--long-side", type=int, default=None)
    ap.add_argument("--data-root", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--history", type=Path, default=REPO / "runs" / "loopexpose_cpu" / "history.json")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "loopexpose_label_psnr.png")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    ap.add_argument("--results", type=Path, default=None,
                    help="heldout-subset: JSON written by benchmarks/heldout_brackets.py --json")
    ap.add_argument("--exclude", type=Path, default=None,
                    help="heldout-subset: JSON list of [dataset, scene] to leave out")
    args = ap.parse_args(argv)
    args.weights = dict(w.split("=", 1) for w in args.weights)
    torch.set_num_threads(1)
    if args.what == "fusion":
        args.datasets = args.datasets or "sice,mef,deepfuse,mefb"
        args.long_side = args.long_side or 512
        md = run_fusion(args, argv)
    elif args.what == "mertens-vs-opencv":
        args.datasets = args.datasets or "mef,mefb,deepfuse"
        md = run_mertens_vs_opencv(args, argv)
    elif args.what == "heldout-subset":
        md = run_heldout_subset(args, argv)
    else:
        md = run_labels(args, argv)
    print(md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md)
    return md


if __name__ == "__main__":
    main()
