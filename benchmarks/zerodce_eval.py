"""Zero-DCE: held-out bracket scores beside the classical methods, no-reference scores, and speed.

Usage (one CPU thread, as every number in docs/results.md)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/zerodce_eval.py --out runs/zerodce_eval.json

Prints markdown tables (held-out brackets via ``exposurekit.evaluate.evaluate_brackets``; low-light and
backlit sets via ``exposurekit.evaluate.evaluate_spec``; milliseconds per 1-megapixel image) and writes
every number to ``--out``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

NOREF_SETS = ("dicm", "lime", "sci-lowlight", "backlit", "clip-lit")
CLASSICAL = ("linear-gain", "auto-gamma", "clahe", "histeq")


def time_method(method, side: int = 1000, repeats: int = 3) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``method.correct`` on one ``side``×``side`` image (after a warm-up).

    With one thread the CPU time is what the computation costs; the wall time also counts waiting for
    a core on a shared machine.
    """
    x = torch.rand(1, 3, side, side)
    method.correct(x[..., :64, :64])
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        method.correct(x)
        wall.append(1000 * (time.perf_counter() - t))
        cpu.append(1000 * (time.process_time() - c))
    return statistics.median(wall), statistics.median(cpu)


def denormal_demo(side: int = 256) -> dict[str, float]:
    """CPU milliseconds with subnormal weights, without and with flushing (the released checkpoint's defect)."""
    import exposurekit as ek
    from exposurekit.models.zerodce import flush_subnormal_

    m = ek.load_method("zerodce")
    with torch.no_grad():
        for p in m.model.parameters():  # make about a quarter of the weights subnormal
            mask = torch.rand(p.shape) < 0.25
            p[mask] = 1e-39
    net = m.model
    x = torch.rand(1, 3, side, side).contiguous(memory_format=torch.channels_last)
    out = {}

    def cpu_ms() -> float:
        with torch.no_grad():
            net.enhance(x)
            c = time.process_time()
            net.enhance(x)
            return 1000 * (time.process_time() - c)

    for flush in (False, True):
        torch.set_flush_denormal(flush)
        out[f"subnormal weights, flush={flush}"] = cpu_ms()
    torch.set_flush_denormal(False)
    flush_subnormal_(net)
    out["weights zeroed, flush=False"] = cpu_ms()
    x = x.contiguous()  # the default (channels-first) layout takes a different convolution path
    net.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        for p in net.parameters():
            mask = torch.rand(p.shape) < 0.25
            p[mask] = 1e-39
    out["channels-first, subnormal weights, flush=False"] = cpu_ms()
    torch.set_flush_denormal(True)
    out["channels-first, subnormal weights, flush=True"] = cpu_ms()
    torch.set_flush_denormal(False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/zerodce_eval.json"))
    ap.add_argument("--weights", type=Path, default=None, help="zerodce weights (default: shipped)")
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--classical", nargs="*", default=list(CLASSICAL))
    ap.add_argument("--sets", nargs="*", default=list(NOREF_SETS))
    ap.add_argument("--skip-brackets", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    import exposurekit as ek
    from exposurekit.evaluate import brackets_markdown, evaluate_brackets, evaluate_spec, heldout_brackets
    from exposurekit.evaluate.report import markdown_table, write_json

    zdce = ek.load_method("zerodce", weights=args.weights)
    results: dict = {"weights": str(zdce.weights_path), "long_side": args.long_side}

    if not args.skip_speed:
        wall, cpu = time_method(zdce)
        results["ms_1mp"], results["cpu_ms_1mp"] = wall, cpu
        results["denormal_ms_256"] = denormal_demo()
        print(f"\nspeed: {wall:.0f} ms wall, {cpu:.0f} ms CPU per 1000×1000 image (1 thread, median of 3)")
        print("CPU ms at 256×256:", {k: round(v, 1) for k, v in results["denormal_ms_256"].items()})

    if not args.skip_brackets:
        brackets = heldout_brackets()
        res = []
        for name in ["zerodce", *args.classical]:
            t = time.perf_counter()
            res.append(evaluate_brackets(zdce if name == "zerodce" else name, brackets, long_side=args.long_side))
            print(f"[brackets] {name}: {time.perf_counter() - t:.0f} s", flush=True)
        results["brackets"] = [{k: v for k, v in r.items() if k != "rows"} for r in res]
        print("\n### Held-out brackets (PSNR / SSIM / ΔE00 by offset from the middle frame)\n")
        print(brackets_markdown(res, metric="all"))
        by_ds = []
        for r in res:
            row = {"method": r["method"]}
            for ds, st in sorted(r.get("by_dataset", {}).items()):
                row[f"{ds} psnr"], row[f"{ds} ssim"] = st.get("psnr"), st.get("ssim")
            by_ds.append(row)
        keys = [k for k in by_ds[0] if k != "method"]
        print("\n" + markdown_table(by_ds, keys))

    rows = []
    for spec in args.sets:
        r = evaluate_spec(zdce, f"shared:{spec}", size=f"long:{args.long_side}")
        rows.append({"method": f"{spec}: input", **r["input_mean"]})
        rows.append({"method": f"{spec}: zerodce", **r["mean"], "ms": r["ms_per_image"]})
        results.setdefault("noref", {})[spec] = {k: v for k, v in r.items() if k != "rows"}
        print(f"[noref] {spec} done", flush=True)
    if rows:
        print("\n### No-reference scores (long side", args.long_side, ")\n")
        print(markdown_table(rows, ["n", "mean_lum", "lum_err", "shadows", "highlights", "colourfulness", "niqe"],
                             label="set: method"))
    write_json(args.out, results)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
