"""Find scenes that appear twice among the shared real brackets (same view, any dataset).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sequences_duplicates.py [--data ../shared/data] [--threshold 0.9]

Two brackets are duplicates when some frame of one and some frame of the other have a structure feature
(:func:`exposurekit.data.sice._structure_feature` on a 32×32 log-luminance thumbnail) correlation above
the threshold. The output is the ``DUPLICATE_SCENES`` table of :mod:`exposurekit.data.brackets`, which makes
``Bracket.held_out`` true for every copy of a held-out scene.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from exposurekit.data.brackets import shared_brackets
from exposurekit.data.sice import _structure_feature, thumbnail_luminance

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--threshold", type=float, default=0.9)
    args = ap.parse_args()
    bs = shared_brackets(args.data)
    feats, owner = [], []
    for k, b in enumerate(bs):
        for f in b.frames:
            feats.append(_structure_feature(thumbnail_luminance(f, 32)))
            owner.append(k)
    f = np.stack(feats)
    owner = np.asarray(owner)
    sim = f @ f.T
    best = np.full((len(bs), len(bs)), -1.0)
    for i in range(len(f)):
        np.maximum.at(best[owner[i]], owner, sim[i])
    print("DUPLICATE_SCENES = [")
    for a in range(len(bs)):
        for b in range(a + 1, len(bs)):
            if best[a, b] > args.threshold:
                print(f"    ((\"{bs[a].dataset}\", \"{bs[a].scene}\"), (\"{bs[b].dataset}\", \"{bs[b].scene}\")),"
                      f"  # {best[a, b]:.3f}")
    print("]")


if __name__ == "__main__":
    main()
