"""Quality of SIMR's pseudo-targets on held-out brackets, before any network is trained.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/simr_pseudo_targets.py --classifier runs/simr/classifier.safetensors

Each stand-in turns one held-out frame into a pseudo-target from that frame alone; it is scored with the
shared protocol (``exposurekit.evaluate.evaluate_brackets``: PSNR / SSIM / ΔE2000 against the real middle
frame, long side 512). Rows: the classifier stand-in with one gamma per image (global) and per
superpixel region; auto-gamma (mean luma to 0.46, a hand-made rule); and an oracle gamma (the single
gamma that best matches the real target, an upper bound for any global-gamma pseudo-target).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from exposurekit.evaluate import brackets_markdown, evaluate_brackets, heldout_brackets
from exposurekit.guidance.exposure_classifier import ExposureClassifier
from exposurekit.guidance.pseudo_targets import (
    ClassifierScorer,
    PseudoTargetMaker,
    apply_log_gamma,
    gamma_grid,
)
from exposurekit.models.serialization import load_state
from exposurekit.priors.superpixels import SuperpixelPrior


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--json", default="runs/simr/pseudo_targets.json")
    ap.add_argument("--long-side", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(1)
    state, meta = load_state(args.classifier)
    clf = ExposureClassifier(**meta.get("config", {}))
    clf.load_state_dict({k[7:] if k.startswith("scorer.") else k: v for k, v in state.items()
                         if not k.startswith("net.")})
    scorer = ClassifierScorer(clf.eval())
    prior = SuperpixelPrior()
    brackets = heldout_brackets()
    results = []

    def named(fn, name):
        fn.name = name
        return fn

    g_maker = PseudoTargetMaker(scorer, mode="global")
    r_maker = PseudoTargetMaker(scorer, mode="region")
    results.append(evaluate_brackets(named(lambda x: g_maker.target(x), "classifier, global gamma"), brackets,
                                     args.long_side))
    results.append(evaluate_brackets(named(lambda x: r_maker.target(x, prior(x).masks), "classifier, per region"),
                                     brackets, args.long_side))
    results.append(evaluate_brackets("auto-gamma", brackets, args.long_side))
    results.append(_oracle(brackets, args.long_side))
    md = brackets_markdown(results, metric="all")
    print(md)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps([{k: v for k, v in r.items() if k != "rows"} for r in results],
                                          indent=1, default=str))


def _oracle(brackets, long_side):
    """Best single gamma per frame chosen with the real target (upper bound of global-gamma targets)."""
    from exposurekit.evaluate.heldout import _bracket_frames, pick_target

    grid = gamma_grid(0.1, 10.0, 81).log()

    class Oracle:
        name = "oracle global gamma (uses the target)"

        def __init__(self):
            self.targets = iter(())

        def correct(self, x):
            t = next(self.targets)
            cand = [apply_log_gamma(x, g.view(1)) for g in grid]
            errs = torch.stack([((c - t) ** 2).mean() for c in cand])
            return cand[int(errs.argmin())]

    oracle = Oracle()
    seq = []
    for br in brackets:
        if len(br.frames) < 3:
            continue
        frames = _bracket_frames(br, long_side)
        t = pick_target(frames)
        seq.extend(frames[t] for i in range(len(frames)) if i != t)
    oracle.targets = iter(seq)
    return evaluate_brackets(oracle, brackets, long_side)


if __name__ == "__main__":
    main()
