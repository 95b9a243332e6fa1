"""Time and peak memory of LoopExpose inference at a given size, tiled vs untiled (one CPU thread).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_speed.py --size 3000x4000 --tile-rows 256
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loopexpose_speed.py --size 1500x2000 --tile-rows 0

Each configuration runs in a fresh subprocess so that ``ru_maxrss`` is that run's peak. Prints one
markdown row per configuration: size, tile rows, seconds (median of ``--repeat``), peak RSS (MB) and
the RSS before the forward pass (input tensor + model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = r"""
import json, resource, statistics, sys, time
import torch
torch.set_num_threads(1)
from exposurekit.methods.loopexpose import LoopExpose
h, w, rows, repeat = (int(v) for v in sys.argv[1:5])
m = LoopExpose(tile_rows=rows or None)
m.load_weights(None)
m.model.cfg.tile_rows = rows or None
x = torch.rand(1, 3, h, w)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times = []
for _ in range(repeat):
    t = time.perf_counter()
    y = m.correct(x)
    times.append(time.perf_counter() - t)
    del y
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": statistics.median(times), "peak_mb": peak, "base_mb": base}))
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", action="append", default=[], help="HxW (repeatable)")
    ap.add_argument("--tile-rows", action="append", type=int, default=[], help="0 = untiled (repeatable)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    sizes = args.size or ["3000x4000"]
    rows_list = args.tile_rows or [256]
    print("| size | tile rows | s per image (1 thread) | peak RSS MB | RSS before forward MB |")
    print("|---|---|---|---|---|")
    for size in sizes:
        h, w = (int(v) for v in size.lower().split("x"))
        for rows in rows_list:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(h), str(w), str(rows), str(args.repeat)],
                                 capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": ""})
            if out.returncode != 0:
                print(f"| {w}×{h} | {rows or 'none'} | failed: {out.stderr.strip().splitlines()[-1]} | | |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {w}×{h} | {rows or 'none'} | {r['s']:.1f} | {r['peak_mb']:.0f} | {r['base_mb']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
