"""Held-out backlit split of the CLIP-guided methods, and a folder of the training photos.

    .venv/bin/python benchmarks/clip_split.py [--out /tmp/clip_backlit_train]

Held out (never trained on): every photo that ``benchmarks/clip_noref.py --per-set 10`` scores, i.e. the
10 evenly spaced photos of ``shared:backlit`` (indices 0, 5, …, 45 of the sorted folder) and all 6 of
``shared:clip-lit``. The other 41 backlit photos are linked (symlinks) into ``--out``, which is then
given to ``exposurekit train rave|cliplit-latent --backlit``. The well-lit folders are unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PER_SET = 10


def heldout_backlit() -> list[Path]:
    """The held-out backlit photos (the backlit group of ``clip_noref.py --per-set 10``)."""
    from exposurekit.data.benchmarks import load_spec

    out = []
    for name in ("backlit", "clip-lit"):
        items = load_spec(f"shared:{name}")[1]
        n = len(items)
        pick = items if n <= PER_SET else [items[int(i * n / PER_SET)] for i in range(PER_SET)]
        out += [s.input for s in pick]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/clip_backlit_train"))
    args = ap.parse_args()
    from exposurekit.data.benchmarks import load_spec

    held = {p.resolve() for p in heldout_backlit()}
    train = [s.input for s in load_spec("shared:backlit")[1] if s.input.resolve() not in held]
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.iterdir():
        if old.is_symlink():
            old.unlink()
    for p in train:
        (args.out / p.name).symlink_to(p.resolve())
    print(f"held out {len(held)} backlit photos; {len(train)} training photos linked into {args.out}")


if __name__ == "__main__":
    main()
