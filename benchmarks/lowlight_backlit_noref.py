"""Every registered single-image method on the real low-light and backlit sets, without reference.

Usage (one CPU thread)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lowlight_backlit_noref.py \
        --per-set 12 --out runs/noref.json --markdown docs/lowlight_backlit_noref.md \
        --grid docs/lowlight_backlit_grid.png

Methods: ``list_methods(kind="classical")`` and ``list_methods(kind="learned")`` (fusion methods need a
bracket and are skipped), each with its shipped weights. Sets: ``shared:dicm``, ``shared:lime``,
``shared:sci-lowlight`` (low light) and ``shared:backlit``, ``shared:clip-lit`` (backlit), images shrunk to
``--long-side``; ``--per-set N`` keeps N evenly spaced images of each set (0 = all). Scores come from
``exposurekit.evaluate.evaluate_samples`` (mean luma, |mean luma − 0.5|, crushed-shadow and
clipped-highlight fractions, colourfulness, NIQE). A method that cannot run (for example one that needs
a CLIP model) gets a row saying why. The picture grid shows the input and every method on a few images.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch

GROUPS = {"low-light": ("dicm", "lime", "sci-lowlight"), "backlit": ("backlit", "clip-lit")}
KEYS = ("n", "mean_lum", "lum_err", "shadows", "highlights", "colourfulness", "niqe", "ms")
GRID_PICKS = (("dicm", 0), ("lime", 1), ("sci-lowlight", 0), ("backlit", 0), ("clip-lit", 0))


def _subset(items: list, n: int) -> list:
    if n <= 0 or n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _methods(names: list[str] | None) -> list[str]:
    from exposurekit import describe_methods

    infos = [i for i in describe_methods() if i.kind in ("classical", "learned") and not i.needs_sequence]
    out = [i.name for i in sorted(infos, key=lambda i: (i.kind != "classical", i.name))]
    return [n for n in out if names is None or n in names]


def _weighted(results: list[dict], key: str) -> float:
    import math

    tot = n = 0.0
    for r in results:
        v, k = r["mean"].get(key), r["mean"].get("n", 0)
        if v is not None and math.isfinite(v):
            tot, n = tot + v * k, n + k
    return tot / n if n else float("nan")


def _grid(images: list[tuple[str, torch.Tensor]], outputs: dict[str, list[torch.Tensor | None]], path: Path,
          height: int = 150) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from exposurekit.ops import resize_height

    cols = ["input", *outputs]
    fig, axes = plt.subplots(len(images), len(cols), figsize=(1.9 * len(cols), 1.6 * len(images)), squeeze=False)
    for r, (label, x) in enumerate(images):
        row = [x, *[outputs[m][r] for m in outputs]]
        for c, im in enumerate(row):
            ax = axes[r][c]
            ax.axis("off")
            if im is None:
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=8)
            else:
                ax.imshow(resize_height(im, height)[0].permute(1, 2, 0).clamp(0, 1).numpy())
            if r == 0:
                ax.set_title(cols[c], fontsize=7)
            if c == 0:
                ax.text(-0.05, 0.5, label, transform=ax.transAxes, rotation=90, ha="right", va="center", fontsize=6)
    fig.tight_layout(pad=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _save_thumbs(cache: Path, name: str, images: list[torch.Tensor]) -> None:
    from exposurekit.io import ImageData, write_image
    from exposurekit.ops import tensor_to_array

    cache.mkdir(parents=True, exist_ok=True)
    for k, im in enumerate(images):
        write_image(cache / f"{name}__{k}.png", ImageData(rgb=tensor_to_array(im, np.uint8)))


def _load_thumbs(cache: Path, name: str, n: int) -> list[torch.Tensor | None]:
    from exposurekit.evaluate import load_sized

    return [load_sized(cache / f"{name}__{k}.png", None) if (cache / f"{name}__{k}.png").exists() else None
            for k in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="*", default=None, help="default: every single-image method")
    ap.add_argument("--per-set", type=int, default=12, help="images per set, evenly spaced (0 = all)")
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--no-niqe", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("runs/lowlight_backlit_noref.json"))
    ap.add_argument("--update", action="store_true",
                    help="keep the other methods' results already in --out; rescore only --methods")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables to this file")
    ap.add_argument("--grid", type=Path, default=Path("docs/lowlight_backlit_grid.png"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    import json

    from exposurekit import load_method
    from exposurekit.data.benchmarks import load_spec
    from exposurekit.evaluate import evaluate_samples, load_sized
    from exposurekit.evaluate.report import markdown_table, write_json

    sets = {s: _subset(load_spec(f"shared:{s}")[1], args.per_set) for g in GROUPS.values() for s in g}
    size = ("long", args.long_side)
    picks = [(f"{s}/{sets[s][i].name}", sets[s][i]) for s, i in GRID_PICKS if len(sets[s]) > i]
    grid_inputs = [(label, load_sized(sample.input, size)) for label, sample in picks]
    cache = args.out.with_suffix("").with_name(args.out.stem + "_thumbs")

    raw: dict = {"long_side": args.long_side, "per_set": args.per_set,
                 "sets": {s: [str(x.input) for x in v] for s, v in sets.items()}, "methods": {}, "failures": {}}
    if args.update and args.out.exists():
        old = json.loads(args.out.read_text())
        if (old.get("long_side"), old.get("per_set")) != (args.long_side, args.per_set):
            raise SystemExit(f"{args.out} was made with other settings; run without --update")
        raw["methods"], raw["failures"] = old.get("methods", {}), old.get("failures", {})
        raw["weights"] = old.get("weights", {})
    for name in _methods(args.methods):
        t0 = time.perf_counter()
        raw["failures"].pop(name, None)
        raw["methods"].pop(name, None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                method = load_method(name)
            per_set = {s: evaluate_samples(method, sets[s], size=size, with_niqe=not args.no_niqe)
                       for g in GROUPS.values() for s in g}
            with torch.no_grad():
                _save_thumbs(cache, name, [method.correct(x).clamp(0, 1) for _, x in grid_inputs])
        except Exception as exc:  # a method that cannot run here gets a line saying why
            raw["failures"][name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            print(f"[{name}] failed: {raw['failures'][name]}", flush=True)
            continue
        raw["methods"][name] = {s: {k: v for k, v in r.items() if k != "rows"} for s, r in per_set.items()}
        wp = getattr(method, "weights_path", None)
        raw.setdefault("weights", {})[name] = (
            f"{Path(wp).name} ({time.strftime('%Y-%m-%d %H:%M', time.gmtime(Path(wp).stat().st_mtime))} UTC)"
            if wp else None)
        print(f"[{name}] {time.perf_counter() - t0:.0f} s", flush=True)
        write_json(args.out, raw)  # after every method, so an interrupted run keeps what it scored

    lines = [f"Images per set: {args.per_set or 'all'} (evenly spaced), long side {args.long_side} px, "
             "1 CPU thread; ms = milliseconds per image at that size.", ""]
    order = [n for n in _methods(None) if n in raw["methods"]]
    for g, members in GROUPS.items():
        lines.append(f"**{g}** ({', '.join('shared:' + s for s in members)})")
        lines.append("")
        rows = []
        for i, name in enumerate(order):
            res = [raw["methods"][name][s] for s in members]
            row = {k: _weighted(res, k) for k in KEYS if k not in ("n", "ms")}
            row["n"] = sum(r["mean"]["n"] for r in res)
            row["ms"] = sum(r["ms_per_image"] * r["mean"]["n"] for r in res) / max(row["n"], 1)
            if i == 0:
                inp = {k: _weighted([{"mean": {**r["input_mean"], "n": r["mean"]["n"]}} for r in res], k)
                       for k in KEYS if k not in ("n", "ms")}
                rows.append({"method": "input (no correction)", "n": row["n"], **inp})
            rows.append({"method": name, **row})
        lines.append(markdown_table(rows, list(KEYS)))
        lines.append("")
    ws = {n: w for n, w in raw.get("weights", {}).items() if w and n in order}
    if ws:
        lines.append("Weights: " + "; ".join(f"`{n}` {w}" for n, w in ws.items()))
        lines.append("")
    if raw["failures"]:
        lines.append("Not scored: " + "; ".join(f"`{n}` ({why})" for n, why in raw["failures"].items()))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    write_json(args.out, raw)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    grid_out = {n: _load_thumbs(cache, n, len(grid_inputs)) for n in order}
    if grid_out:
        print("grid:", _grid(grid_inputs, grid_out, args.grid))


if __name__ == "__main__":
    main()
