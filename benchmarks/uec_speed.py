"""Time UEC end to end at 4K (3840×2160): float ``correct``, 8-bit ``correct_array``, and the exact path.

    .venv/bin/python benchmarks/uec_speed.py [--threads 1] [--repeats 5] [--exact] [--out docs/uec_speed.md]

Rows (median of ``--repeats`` after one warm-up; wall-clock, this machine, shared with other jobs):

* ``correct(torch.rand(1, 3, 2160, 3840))`` — the acceptance check: analysis on a copy at height 256,
  a 33³ table baked from the network, applied at full resolution (8-bit Pillow path for ≥ 2 MP);
* ``correct_array(uint8 4K photo)`` — what ``exposurekit correct photo.jpg`` runs (no float copy);
* ``path="lut"`` — float trilinear table (torch ``grid_sample``), for comparison;
* ``path="exact"`` — the network on every pixel (with ``--exact``; measured once, it is slow);
* decode/encode of the 4K JPEG with OpenCV, for scale.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent


def _time(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _photo_4k() -> np.ndarray:
    """A real photo (the largest shared clean photo) resized to 3840×2160 uint8; random if absent."""
    import cv2

    from exposurekit.methods.uec import default_data_root

    folder = default_data_root() / "clean_debian_lomiri_wallpapers_1604"
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if not files:
        return (np.random.default_rng(0).random((2160, 3840, 3)) * 255).astype(np.uint8)
    img = cv2.cvtColor(cv2.imread(str(files[0])), cv2.COLOR_BGR2RGB)
    return cv2.resize(img, (3840, 2160), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's default)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--exact", action="store_true", help="also time the exact path at 4K (slow)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import cv2

    from exposurekit.methods import load_method

    m = load_method("uec")
    rows = []
    x = torch.rand(1, 3, 2160, 3840)
    rows.append(("`correct(torch.rand(1,3,2160,3840))` (auto → 8-bit LUT)", _time(lambda: m.correct(x), args.repeats)))
    photo = _photo_4k()
    rows.append(("`correct_array(uint8 4K photo)` (CLI path)", _time(lambda: m.correct_array(photo), args.repeats)))
    photo_f = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    from exposurekit.methods.uec import _torch_threads

    def analysis() -> None:
        with _torch_threads(m.threads):
            m.analyze(m._small_from_u8(photo), lut_size=m.photo_lut_size)

    rows.append(("  of which: analysis + table bake (copy at height 256)", _time(analysis, args.repeats)))
    m_lut = load_method("uec", path="lut")
    rows.append(("`correct` float, `path=\"lut\"` (torch grid_sample)", _time(lambda: m_lut.correct(photo_f), 1)))
    if args.exact:
        m_ex = load_method("uec", path="exact")
        t0 = time.perf_counter()
        m_ex.correct(photo_f)
        rows.append(("`correct` float, `path=\"exact\"` (network on every pixel)", time.perf_counter() - t0))
    ok, buf = cv2.imencode(".jpg", photo[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    rows.append(("OpenCV JPEG decode, for scale", _time(lambda: cv2.imdecode(buf, cv2.IMREAD_COLOR), args.repeats)))
    rows.append(("OpenCV JPEG encode, for scale", _time(lambda: cv2.imencode(".jpg", photo), args.repeats)))
    cmd = ".venv/bin/python benchmarks/uec_speed.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    lines = [f"`{cmd}` (torch threads: {torch.get_num_threads()}; 3840×2160)", "",
             "| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {t:.3f} |" for name, t in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
