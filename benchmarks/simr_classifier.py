"""Train the SIMR exposure-state classifier (CLIP stand-in) on the real training brackets.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_classifier.py --out runs/simr/classifier.safetensors

Frames of every non-held-out bracket with >= 3 frames (SICE, MEF, DeepFuse in ../shared/data) are
labelled under / well / over relative to the bracket's best-exposed frame; held-out scenes are never read.
Prints the held-out accuracy (same labelling) at the end.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from exposurekit.data.brackets import shared_brackets, split_brackets
from exposurekit.evaluate.heldout import default_data_root
from exposurekit.guidance.exposure_classifier import load_labelled_frames, train_exposure_classifier
from exposurekit.models.serialization import save_state


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/simr/classifier.safetensors")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--data", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    train, held = split_brackets(shared_brackets(args.data or default_data_root()))
    x, y = load_labelled_frames(train)
    print(f"{len(x)} training frames from {len(train)} brackets, labels {torch.bincount(y).tolist()}, "
          f"read in {time.perf_counter() - t0:.1f}s", flush=True)
    net = train_exposure_classifier(x, y, epochs=args.epochs, log=lambda s: print(s, flush=True))
    xh, yh = load_labelled_frames(held, allow_held_out=True)
    with torch.no_grad():
        pred = net(xh.float() / 255).argmax(1)
    acc = float((pred == yh).float().mean())
    print(f"held-out accuracy {acc:.3f} on {len(yh)} frames; total {time.perf_counter() - t0:.1f}s")
    save_state(Path(args.out), net.state_dict(), {"config": net.config, "heldout_accuracy": acc})


if __name__ == "__main__":
    main()
