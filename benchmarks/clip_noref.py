"""CLIP-guided methods beside the other methods on the real backlit and low-light sets (no reference).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/clip_noref.py [--per-set 10] [--long-side 512] \
        [--methods rave,cliplit-latent,linear-gain,auto-gamma,clahe,uec,loopexpose,zerodce] \
        [--grid docs/clip_grid.png] [--json runs/clip_noref.json] [--groups backlit,low-light,over-exposed] \
        [--weights rave@new=runs/rave/rave.safetensors]

Sets (``exposurekit.data.benchmarks.load_spec``): backlit = ``shared:backlit`` + ``shared:clip-lit``;
low-light = ``shared:dicm`` + ``shared:lime`` + ``shared:sci-lowlight``; over-exposed = ``shared:mefb-over``
(real over-exposed MEFB frames) + ``examples/overexposed_chelsea.jpg``; ``--per-set`` evenly spaced
images of each, long side shrunk to ``--long-side``. With ``--per-set 10`` the backlit photos scored are
exactly the held-out backlit split of ``benchmarks/clip_split.py`` (never trained on since the session-2
recipe). A method entry ``NAME@TAG`` with ``--weights NAME@TAG=PATH`` scores other weights of ``NAME``. Scores from ``exposurekit.evaluate.evaluate_samples``
(``exposurekit.metrics``): mean luma, |mean luma − 0.5|, crushed shadows, clipped highlights,
colourfulness, NIQE; ms = milliseconds per image. Methods whose weights are missing or that fail get a
line saying why. The picture grid shows the input and each method on two backlit and two low-light photos.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import torch

GROUPS = {"backlit": ("backlit", "clip-lit"), "low-light": ("dicm", "lime", "sci-lowlight"),
          "over-exposed": ("mefb-over", "folder:examples/overexposed_chelsea.jpg")}
KEYS = ("mean_lum", "lum_err", "shadows", "highlights", "colourfulness", "niqe")
GRID = (("backlit", 0), ("backlit", 1), ("clip-lit", 1), ("dicm", 1), ("lime", 1), ("mefb-over", 1),
        ("folder:examples/overexposed_chelsea.jpg", 0))


def _spec(s: str) -> str:
    return s if ":" in s else f"shared:{s}"


def _subset(items: list, n: int) -> list:
    if n <= 0 or n >= len(items):
        return items
    return [items[int(i * len(items) / n)] for i in range(n)]


def _mean(rows: list[tuple[dict, int]], key: str) -> float:
    tot = n = 0.0
    for m, k in rows:
        v = m.get(key)
        if v is not None and math.isfinite(v):
            tot, n = tot + v * k, n + k
    return tot / n if n else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="rave,cliplit-latent,linear-gain,auto-gamma,clahe,uec,loopexpose,zerodce")
    ap.add_argument("--per-set", type=int, default=10)
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--grid", type=Path, default=Path("docs/clip_grid.png"))
    ap.add_argument("--json", type=Path, default=Path("runs/clip_noref.json"))
    ap.add_argument("--groups", default=",".join(GROUPS), help="comma-separated subset of " + ", ".join(GROUPS))
    ap.add_argument("--weights", action="append", default=[], metavar="NAME@TAG=PATH",
                    help="weights file for a method entry NAME@TAG (repeatable)")
    args = ap.parse_args()
    groups = {g: GROUPS[g] for g in args.groups.split(",") if g}
    weights = dict(w.split("=", 1) for w in args.weights)
    torch.set_num_threads(1)
    from exposurekit.data.benchmarks import load_spec
    from exposurekit.evaluate.runner import evaluate_samples, load_sized
    from exposurekit.methods.registry import load_method

    sets = {s: _subset(load_spec(_spec(s))[1], args.per_set) for g in groups.values() for s in g}
    size = f"long:{args.long_side}"
    grid_in = [(f"{s}/{sets[s][i].input.name}", load_sized(sets[s][i].input, size)) for s, i in GRID
               if s in sets and len(sets[s]) > i]
    table: dict[str, dict[str, dict[str, float]]] = {g: {} for g in groups}
    outputs: dict[str, list[torch.Tensor]] = {}
    failed: dict[str, str] = {}
    per_set: dict[str, dict[str, dict[str, float]]] = {}
    for name in [m.strip() for m in args.methods.split(",") if m.strip()]:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                method = load_method(name.split("@")[0], **({"weights": weights[name]} if name in weights else {}))
            if any("no shipped weights" in str(w.message) for w in caught):
                raise RuntimeError("no shipped weights yet")
            res = {s: evaluate_samples(method, sets[s], size=size) for g in groups.values() for s in g}
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
            print(f"[{name}] skipped: {failed[name]}", flush=True)
            continue
        for g, members in groups.items():
            rows = [(res[s]["mean"], res[s]["mean"]["n"]) for s in members]
            if "input" not in table[g]:
                table[g]["input"] = {k: _mean([(res[s]["input_mean"], res[s]["mean"]["n"]) for s in members], k)
                                     for k in KEYS}
                table[g]["input"]["n"] = sum(k for _, k in rows)
            row = {k: _mean(rows, k) for k in KEYS}
            row["n"] = sum(k for _, k in rows)
            row["ms"] = sum(res[s]["ms_per_image"] * res[s]["mean"]["n"] for s in members) / max(row["n"], 1)
            table[g][name] = row
        for members in groups.values():
            for s_ in members:
                per_set.setdefault(s_, {}).setdefault("input", {k: res[s_]["input_mean"].get(k) for k in KEYS})
                per_set[s_][name] = {k: res[s_]["mean"].get(k) for k in KEYS}
        with torch.no_grad():
            outputs[name] = [method.correct(x).clamp(0, 1) for _, x in grid_in]
        print(f"[{name}] done", flush=True)
    lines = []
    for g, members in groups.items():
        lines.append(f"\n**{g}** ({' + '.join(_spec(s) for s in members)}; {args.per_set} per set, "
                     f"long side {args.long_side})\n")
        lines.append("| method | n | mean luma | \\|luma − 0.5\\| ↓ | shadows ↓ | highlights ↓ | colourfulness | NIQE ↓ | ms |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for name, r in table[g].items():
            ms = f"{r['ms']:.0f}" if "ms" in r else ""
            lines.append(f"| {name} | {r['n']} | {r['mean_lum']:.3f} | {r['lum_err']:.3f} | {r['shadows']:.3f} | "
                         f"{r['highlights']:.3f} | {r['colourfulness']:.1f} | {r['niqe']:.2f} | {ms} |")
    lines.append("\n**per set**: clipped highlights ↓ / mean luma\n")
    names = list(dict.fromkeys(n for v in per_set.values() for n in v))
    lines.append("| set | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for s_, v in per_set.items():
        lines.append(f"| {s_} | " + " | ".join(f"{v[n]['highlights']:.3f} / {v[n]['mean_lum']:.3f}" if n in v else ""
                                                for n in names) + " |")
    if failed:
        lines.append("\nNot scored: " + "; ".join(f"`{n}` ({why})" for n, why in failed.items()))
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"tables": table, "sets": per_set, "failed": failed, "per_set": args.per_set,
                                     "long_side": args.long_side}, indent=1))
    if outputs:
        _grid(grid_in, outputs, args.grid)
        print("grid:", args.grid)


def _grid(inputs: list, outputs: dict[str, list[torch.Tensor]], path: Path, height: int = 160) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from exposurekit.ops import resize_height

    cols = ["input", *outputs]
    fig, axes = plt.subplots(len(inputs), len(cols), figsize=(2.0 * len(cols), 1.7 * len(inputs)), squeeze=False)
    for r, (label, x) in enumerate(inputs):
        for c, im in enumerate([x, *[outputs[m][r] for m in outputs]]):
            ax = axes[r][c]
            ax.axis("off")
            ax.imshow(resize_height(im, height)[0].permute(1, 2, 0).clamp(0, 1).numpy())
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
            if c == 0:
                ax.text(-0.05, 0.5, label[:24], transform=ax.transAxes, rotation=90, ha="right", va="center", fontsize=6)
    fig.tight_layout(pad=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
