"""Pick the guidance encoder of the CLIP-guided methods by measurement (no download needed).

For each encoder: (1) how well the RAVE residual separates backlit from well-lit photos it was not
computed from (2-fold split, AUC of cos(e, v_res)); (2) whether the RAVE loss prefers a brightened
backlit photo to the original (fraction of backlit photos whose loss falls under gamma 0.6, and the
mean loss before/after); (3) embedding time per 128² image.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/clip_encoders.py
"""

from __future__ import annotations

import time
import warnings

import torch

from exposurekit.guidance import (
    build_encoder,
    folder_embeddings,
    load_image_set,
    residual_loss,
    residual_vector,
)

DATA = "/work/shared/data/"
BACKLIT = [DATA + "backlit_web_ovd0312", DATA + "clip_lit_backlit_examples"]
WELL = [DATA + d for d in ("clean_kodak24", "clean_skimage_data", "clean_debian_lomiri_wallpapers_1604",
                           "clean_debian_mate_nature")]


def auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """P(score of a positive > score of a negative), ties half."""
    d = pos[:, None] - neg[None, :]
    return float((d > 0).float().mean() + 0.5 * (d == 0).float().mean())


def main() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    side = 224
    b = load_image_set(BACKLIT, side, "backlit")
    w = load_image_set(WELL, side, "well-lit")
    g = torch.Generator().manual_seed(0)
    rows = []
    for spec in ("exposure", "uec"):
        enc = build_encoder(spec)
        t0 = time.perf_counter()
        eb = folder_embeddings(enc, b, side, use_cache=False)
        ew = folder_embeddings(enc, w, side, use_cache=False)
        per_img = (time.perf_counter() - t0) / (len(b) + len(w))
        aucs = []
        for _ in range(5):  # 2-fold splits, repeated
            pb, pw = torch.randperm(len(eb), generator=g), torch.randperm(len(ew), generator=g)
            hb, hw = len(eb) // 2, len(ew) // 2
            for tb, vb, tw, vw in ((pb[:hb], pb[hb:], pw[:hw], pw[hw:]), (pb[hb:], pb[:hb], pw[hw:], pw[:hw])):
                r = residual_vector(ew[tw], eb[tb])
                aucs.append(auc(r.projection(ew[vw]), r.projection(eb[vb])))
        r = residual_vector(ew, eb)
        with torch.no_grad():
            x = b.float()
            before = residual_loss(enc(x), r.v_res, r.thr)
            after = residual_loss(enc(x.clamp(0, 1) ** 0.6), r.v_res, r.thr)
        trained = getattr(enc, "trained", None)
        rows.append((spec + ("" if trained is None else (" (trained)" if trained else " (random weights)")),
                     int(eb.shape[1]), sum(aucs) / len(aucs), float((after < before).float().mean()),
                     float(before.mean()), float(after.mean()), 1000 * per_img))
    print("| encoder | dim | held-out AUC backlit vs well-lit | backlit photos whose RAVE loss falls under γ 0.6 "
          "| mean loss before → after | ms / image (224²) |")
    print("|---|---|---|---|---|---|")
    for name, dim, a, frac, lb, la, ms in rows:
        print(f"| {name} | {dim} | {a:.3f} | {frac:.2f} | {lb:.4f} → {la:.4f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
