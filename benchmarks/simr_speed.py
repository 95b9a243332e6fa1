"""SIMR speed: a selective-scan block vs a self-attention block of the same width, per pixel, and 1-MP correction.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_speed.py --threads 1 --cpu-time
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/simr_speed.py --threads 2 --only-e2e

Block table: forward time (no grad, minimum of ``--repeats`` runs) of one Mamba block of the default
preset (LN → SS2D with four scan orders → LN → CAB, width 24, d_state 8) at 128² … 1024² positions, and
of a global self-attention block of the same width (LN → 1×1 q, k, v → softmax(qkᵀ/√C) v via
``scaled_dot_product_attention`` → 1×1 out) where it fits in memory and time. d_state table: the same
Mamba block at 256² for several state sizes. End-to-end: ``SIMR.correct`` with the default preset and
shipped weights on a 1024×1024 (1.05 MP) photo, prior included. The machine's 1-minute load average is
printed with each table: the 2 cores are shared, so numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from exposurekit.models.simr import LayerNorm2d, MambaBlock, SIMRConfig


class AttentionBlock(nn.Module):
    """Global softmax self-attention over all positions, same width (one head)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).transpose(1, 2).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]
        return x + self.out(y.transpose(1, 2).reshape(b, c, h, w))


CPU_TIME = False
"""Report process CPU seconds instead of wall seconds (``--cpu-time``): on a shared machine the CPU
time of a 1-thread run is what the same run takes on an idle core."""


def timeit(fn, repeats: int) -> float:
    clock = time.process_time if CPU_TIME else time.perf_counter
    best = float("inf")
    for _ in range(repeats):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


@torch.no_grad()
def blocks(repeats: int, sizes: list[int], attn_max: int) -> None:
    cfg = SIMRConfig()
    dim = 24
    mb = MambaBlock(dim, cfg).eval()
    at = AttentionBlock(dim).eval()
    print(f"\nblock forward, width {dim}, d_state {cfg.d_state}, threads {torch.get_num_threads()}, {load()}\n")
    print("| size | positions | scan block s | scan µs/position | attention block s | attention µs/position |")
    print("|---|---|---|---|---|---|")
    if attn_max >= 64:  # one small size to show the attention trend
        x = torch.randn(1, dim, 64, 64)
        tm = timeit(lambda x=x: mb(x), repeats)
        ta = timeit(lambda x=x: at(x), repeats)
        print(f"| 64² | 4096 | {tm:.3f} | {tm / 4096 * 1e6:.2f} | {ta:.3f} | {ta / 4096 * 1e6:.2f} |", flush=True)
    for s in sizes:
        x = torch.randn(1, dim, s, s)
        tm = timeit(lambda x=x, mb=mb: mb(x), repeats)
        if s <= attn_max:
            ta = timeit(lambda x=x: at(x), max(1, repeats - 1))
            att = f"{ta:.3f} | {ta / s / s * 1e6:.2f}"
        else:
            att = "not run (quadratic) | –"
        print(f"| {s}² | {s * s} | {tm:.3f} | {tm / s / s * 1e6:.2f} | {att} |", flush=True)


@torch.no_grad()
def d_state_table(repeats: int) -> None:
    print(f"\nscan block at 256², width 24, threads {torch.get_num_threads()}, {load()}\n")
    print("| d_state | block s | µs/position |")
    print("|---|---|---|")
    for n in (1, 4, 8, 16):
        mb = MambaBlock(24, SIMRConfig(d_state=n)).eval()
        x = torch.randn(1, 24, 256, 256)
        t = timeit(lambda x=x, mb=mb: mb(x), repeats)
        print(f"| {n} | {t:.3f} | {t / 65536 * 1e6:.2f} |", flush=True)


def end_to_end(repeats: int) -> None:
    import exposurekit as ek
    from exposurekit.evaluate.heldout import default_data_root
    from exposurekit.io import read_image
    from exposurekit.ops import array_to_tensor, resize_to

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ek.load_method("simr")
    src = default_data_root() / "clean_kodak24" / "kodim05.png"
    x = resize_to(array_to_tensor(read_image(src).rgb), (1024, 1024)) if src.is_file() else torch.rand(1, 3, 1024, 1024)
    m.correct(x[:, :, :256, :256])
    t = timeit(lambda: m.correct(x), repeats)
    tp = timeit(lambda: m.semantic_features(x), repeats)
    wall = time.perf_counter()
    m.correct(x)
    wall = time.perf_counter() - wall
    print(f"\nend to end: SIMR default preset, 1024×1024 ({x.shape[-1] * x.shape[-2] / 1e6:.2f} MP), "
          f"threads {torch.get_num_threads()}, {load()}: {t:.2f} s (prior alone {tp:.2f} s; one more run's wall "
          f"time {wall:.2f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attn-max", type=int, default=128)
    ap.add_argument("--only-e2e", action="store_true")
    ap.add_argument("--cpu-time", action="store_true", help="process CPU seconds instead of wall seconds")
    args = ap.parse_args()
    global CPU_TIME
    CPU_TIME = args.cpu_time
    print(f"timing: {'process CPU seconds' if CPU_TIME else 'wall seconds'}")
    torch.set_num_threads(args.threads)
    if not args.only_e2e:
        blocks(args.repeats, [128, 256, 512, 1024], args.attn_max)
        d_state_table(args.repeats)
    end_to_end(args.repeats)


if __name__ == "__main__":
    main()
