"""Time methods on CPU: ms per image at 1 MP and 4K, megapixels per second, peak memory, parameters.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/timing.py --methods linear-gain,auto-gamma,clahe,histeq \
        [--sizes 1mp,4k] [--repeats 5] [--warmup 1] [--threads 1] [--out timing.md] [--update-results]

Each (method, size) runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is its
own; the figure reported is the peak RSS during the timed runs (the kernel's VmHWM, reset just before
them) minus the RSS right before them, with the input image already loaded — the method's working memory
including its output, not Python/torch themselves. The image is a real photo
(``clean_debian_*`` from ../shared/data, resized) in uint8, corrected with ``method.correct_array`` — the
path ``exposurekit correct`` takes, including tiling for per-pixel methods. One warm-up run, then the
median of ``--repeats`` runs. The machine is shared: medians of few runs still move by ~10-20 %.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZES = {"1mp": (1000, 1000), "4k": (2160, 3840)}
REPO = Path(__file__).resolve().parents[1]


def _photo(h: int, w: int):
    import cv2
    import numpy as np

    from exposurekit.evaluate.heldout import default_data_root

    root = default_data_root()
    cands = sorted((root / "clean_debian_lomiri_wallpapers_1604").glob("*.jpg")) + sorted(
        (root / "clean_debian_lomiri_wallpapers_1604").glob("*.png"))
    if cands:
        img = cv2.cvtColor(cv2.imread(str(cands[0]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    """Current RSS (MB), or the lifetime peak where /proc is missing."""
    cur = _status_mb("VmRSS")
    return cur if cur is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _peak_mb() -> float:
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_one(method: str, size: str, repeats: int, warmup: int, threads: int, image_file: str | None = None) -> dict:
    """Run in the current process: returns timings and memory of one method at one size."""
    import torch

    torch.set_num_threads(threads)
    from exposurekit.methods import load_method

    m = load_method(method)
    params = sum(p.numel() for mod in m.modules() for p in mod.parameters())
    import numpy as np

    h, w = SIZES[size]
    img = np.load(image_file) if image_file else _photo(h, w)  # from a file: no big decode inflates the peak
    import gc

    m.correct_array(img[:64, :64].copy())  # first-call imports/allocations before the baseline
    gc.collect()
    _reset_peak()
    base = _rss_mb()
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        out = m.correct_array(img)
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
        del out
    med = statistics.median(times)
    return {"method": method, "size": size, "h": h, "w": w, "ms": 1000 * med, "ms_min": 1000 * min(times),
            "mp_per_s": h * w / 1e6 / med, "peak_mb": _peak_mb() - base, "params": params, "repeats": repeats,
            "threads": threads}


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", required=True)
    ap.add_argument("--sizes", default="1mp,4k")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--update-results", action="store_true",
                    help="replace <!-- timing --> ... <!-- /timing --> in docs/results.md")
    ap.add_argument("--_one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._one:
        print(json.dumps(measure_one(args._one[0], args._one[1], args.repeats, args.warmup, args.threads,
                                     args._one[2])))
        return ""
    import tempfile

    import numpy as np

    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    tmpdir = Path(tempfile.mkdtemp(prefix="ek_timing_"))
    files = {}
    for size in args.sizes.split(","):
        files[size] = tmpdir / f"{size}.npy"
        np.save(files[size], _photo(*SIZES[size]))
    for method in args.methods.split(","):
        for size in args.sizes.split(","):
            cmd = [sys.executable, __file__, "--methods", method, "--_one", method, size, str(files[size]), "--repeats",
                   str(args.repeats), "--warmup", str(args.warmup), "--threads", str(args.threads)]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
            if p.returncode != 0:
                print(f"{method} {size}: failed\n{p.stderr[-2000:]}", file=sys.stderr)
                rows.append({"method": method, "size": size, "error": p.stderr.strip().splitlines()[-1:]})
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"{method} {size}: {r['ms']:.0f} ms, {r['mp_per_s']:.2f} MP/s, +{r['peak_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    for f in files.values():
        f.unlink(missing_ok=True)
    tmpdir.rmdir()
    argv_s = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    lines = [
        f"CPU timing ({platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
        f"{args.threads} thread(s)); uint8 RGB photo in, `correct_array` (the CLI path); {args.warmup} warm-up, "
        f"median of {args.repeats}. Peak memory = peak RSS during the runs above the RSS just before them "
        "(input already loaded).",
        "",
        f"`OMP_NUM_THREADS={args.threads} .venv/bin/python benchmarks/timing.py {argv_s}`",
        "",
        "| method | params | 1 MP ms | 1 MP MP/s | 1 MP peak MB | 4K ms | 4K MP/s | 4K peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["method"], r["size"]): r for r in rows}
    for method in args.methods.split(","):
        cells = []
        params = next((by[(method, s)].get("params") for s in SIZES if (method, s) in by and "ms" in by[(method, s)]),
                      None)
        for s in ("1mp", "4k"):
            r = by.get((method, s))
            if r is None or "ms" not in r:
                cells += ["–", "–", "–"]
            else:
                cells += [f"{r['ms']:.0f}", f"{r['mp_per_s']:.2f}", f"{r['peak_mb']:.0f}"]
        lines.append(f"| {method} | {params if params is not None else '–':,} | " + " | ".join(cells) + " |"
                     if isinstance(params, int) else f"| {method} | – | " + " | ".join(cells) + " |")
    md = "\n".join(lines) + "\n"
    print(md)
    if args.out:
        args.out.write_text(md)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.update_results:
        from exposurekit.evaluate.report import replace_block

        replace_block(REPO / "docs" / "results.md", "timing", md)
    return md


if __name__ == "__main__":
    main()
