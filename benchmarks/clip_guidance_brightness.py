"""Does the guidance stop at "well-lit"? Guidance losses of exposure-shifted photos, and a negatives experiment.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/clip_guidance_brightness.py [--rave W] [--latent W]

1. For the backlit and well-lit training photos (96² squares, exposure-embedding encoder) shifted by
   EV −1 … +2 (linear light, highlights clip): the mean RAVE loss ``(cos(E, v_res) − thr)²`` with the
   residual of the ``rave`` weights, the mean ``P(backlit)`` under the ``cliplit-latent`` weights' class
   vectors, and the fraction of clipped pixels. A guidance that stops at "well-lit" would have its
   minimum near EV 0 for well-lit photos.
2. "Better negatives" for the latent classifier: two class vectors trained by cross-entropy (400 steps,
   batch 16, lr 3e-2, scale 100, as the CE stage of the recipe) with over-exposed (EV +0.75/+1.25/+1.75)
   and optionally under-exposed (EV −1.5/−1) copies of the well-lit photos added to the backlit class;
   printed as mean P(backlit) per EV.
"""

from __future__ import annotations

import argparse
import warnings

import torch
import torch.nn.functional as F

DATA = "/work/shared/data/"
BACKLIT = [DATA + "backlit_web_ovd0312", DATA + "clip_lit_backlit_examples"]
WELL = [DATA + d for d in ("clean_kodak24", "clean_skimage_data", "clean_debian_lomiri_wallpapers_1604",
                           "clean_debian_mate_nature")]
EVS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rave", default=None, help="rave weights (default: shipped)")
    ap.add_argument("--latent", default=None, help="cliplit-latent weights (default: shipped)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from exposurekit.guidance import (
        LatentPrompts,
        backlit_probability,
        build_encoder,
        load_image_set,
        prompt_logits,
        residual_loss,
    )
    from exposurekit.methods.registry import load_method
    from exposurekit.ops.color import expose as _expose

    enc = build_encoder("exposure", "cpu")
    sets = {"backlit": load_image_set(BACKLIT, 96, "backlit").float(),
            "well-lit": load_image_set(WELL, 96, "well-lit").float()}
    rave = load_method("rave", weights=args.rave)
    lat = load_method("cliplit-latent", weights=args.latent)
    v_res, thr, vec = rave.guidance_state["v_res"], rave.meta["thr"], lat.guidance_state["vectors"]

    def ev(x: torch.Tensor, e: float) -> torch.Tensor:
        return _expose(x, torch.full((len(x),), e))

    print("| photos | EV | RAVE loss | P(backlit) | clipped |\n|---|---|---|---|---|")
    with torch.no_grad():
        for name, x in sets.items():
            for e in EVS:
                y = ev(x, e)
                emb = enc(y)
                print(f"| {name} | {e:+.1f} | {residual_loss(emb, v_res, thr).mean():.4f} | "
                      f"{backlit_probability(emb, vec).mean():.3f} | {(y >= 0.98).any(1).float().mean():.3f} |")
        eb, ew = enc(sets["backlit"]), enc(sets["well-lit"])
        over = torch.cat([enc(ev(sets["well-lit"], e)) for e in (0.75, 1.25, 1.75)])
        under = torch.cat([enc(ev(sets["well-lit"], e)) for e in (-1.5, -1.0)])
    print("\n| backlit class | photos | " + " | ".join(f"EV {e:+.1f}" for e in EVS) + " |")
    print("|---|---|" + "---|" * len(EVS))
    for tag, extra in (("backlit only (recipe)", []), ("+ over-exposed well-lit", [over]),
                       ("+ over- and under-exposed well-lit", [over, under])):
        torch.manual_seed(0)
        p = LatentPrompts(eb.shape[1])
        opt = torch.optim.Adam(p.parameters(), lr=3e-2)
        emb = torch.cat([eb, ew, *extra])
        lab = torch.cat([torch.zeros(len(eb)), torch.ones(len(ew)), *[torch.zeros(len(t)) for t in extra]]).long()
        for _ in range(400):
            i = torch.randint(0, len(emb), (16,))
            loss = F.cross_entropy(prompt_logits(emb[i], p(), 100.0), lab[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            for name, x in sets.items():
                row = [float(backlit_probability(enc(ev(x, e)), p()).mean()) for e in EVS]
                print(f"| {tag} | {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |")


if __name__ == "__main__":
    main()
