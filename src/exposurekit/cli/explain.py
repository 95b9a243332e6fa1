"""``exposurekit explain-residual``: what RAVE's residual vector asks for.

With a CLIP encoder: the vocabulary tokens nearest to and farthest from ``v_res`` and the "shifted"
residual that projects the top tokens out (saved for training with ``extra.shift_k``). With the
exposure embedding: a plot of how each feature (luminance bins, colour moments, contrast, layout)
moves from the backlit mean to the well-lit mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from exposurekit.cli.app import app


def explain_exposure(v_pos: Any, v_neg: Any, v_res: Any, out_png: Path, top: int = 8) -> list[tuple[str, float]]:
    """Plot the per-feature residual of the exposure embedding; returns the ``top`` largest moves.

    Args:
        v_pos: :math:`(D,)` normalised well-lit mean; v_neg: backlit mean; v_res: the residual.
        out_png: plot path.
        top: number of features listed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from exposurekit.guidance.exposure_embedding import ExposureEmbedding

    enc = ExposureEmbedding()
    if v_res.numel() != enc.dim:
        raise ValueError(f"the residual has {v_res.numel()} entries; the exposure embedding has {enc.dim}")
    names = enc.names
    groups = enc.groups()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    hs = groups["hist"]
    centres = [(k + 0.5) / enc.bins for k in range(enc.bins)]
    axes[0].plot(centres, (v_neg[hs] ** 2 / (v_neg[hs] ** 2).sum()).tolist(), "o-", label="backlit mean")
    axes[0].plot(centres, (v_pos[hs] ** 2 / (v_pos[hs] ** 2).sum()).tolist(), "o-", label="well-lit mean")
    axes[0].set_title("luminance histogram (bin probabilities)")
    axes[0].set_xlabel("sRGB luma")
    axes[0].legend()
    rest = [i for g in ("colour", "contrast") for i in range(groups[g].start, groups[g].stop)]
    axes[1].barh([names[i] for i in rest], [float(v_res[i]) for i in rest],
                 color=["tab:green" if float(v_res[i]) > 0 else "tab:red" for i in rest])
    axes[1].set_title("v_res: colour and contrast")
    axes[1].axvline(0, color="k", lw=0.5)
    g = enc.grid
    lay = v_res[groups["layout"]].reshape(g, g).numpy()
    im = axes[2].imshow(lay, cmap="RdYlGn", vmin=-abs(lay).max(), vmax=abs(lay).max())
    axes[2].set_title("v_res: mean luma by region (green = brighter)")
    fig.colorbar(im, ax=axes[2])
    fig.suptitle("What the RAVE residual asks for (exposure embedding)")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    order = sorted(range(len(names)), key=lambda i: -abs(float(v_res[i])))
    return [(names[i], float(v_res[i])) for i in order[:top]]


@app.command("explain-residual")
def explain_residual_command(
    backlit: list[Path] = typer.Option(None, "--backlit", "-b", help="backlit folder(s) (default: use --weights)"),
    well_lit: list[Path] = typer.Option(None, "--well-lit", "-w", help="well-lit folder(s)"),
    encoder: str = typer.Option(None, "--encoder", "-e", help="exposure | uec | clip:PATH (default: from the weights)"),
    weights: Path = typer.Option(None, "--weights", help="RAVE weights holding v_res (default: the shipped rave weights)"),
    outdir: Path = typer.Option(Path("out/explain"), "-o", "--outdir", help="where the plot / shifted residual go"),
    top: int = typer.Option(15, "--top", "-k", help="tokens (CLIP) or features listed at each end"),
) -> None:
    """Explain RAVE's residual vector: nearest/farthest CLIP tokens, or the exposure features it moves."""
    import torch
    from rich.console import Console
    from rich.table import Table

    from exposurekit.guidance.clip import ClipLoadError

    con = Console()
    try:
        enc_spec, residual, enc = _residual(backlit, well_lit, encoder, weights)
    except (ImportError, ClipLoadError, FileNotFoundError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] {str(exc).splitlines()[0]}")
        raise typer.Exit(2) from None
    v_pos, v_neg, v_res = residual
    outdir.mkdir(parents=True, exist_ok=True)
    con.print(f"encoder {enc_spec}; dim {v_res.numel()}; thr = <v_pos, v_res> = {float(v_pos @ v_res):.4f}")
    if enc_spec.startswith("clip:"):
        from exposurekit.guidance.residual import shift_residual, token_scores, vocabulary_embeddings

        guide = enc.guide
        if guide.tokenizer is None:
            Console(stderr=True).print("[red]error:[/red] token analysis needs the CLIP tokenizer in the model folder")
            raise typer.Exit(2)
        vocab = vocabulary_embeddings(guide)
        scores = token_scores(vocab, v_res)
        shifted, top_i, bottom_i = shift_residual(v_res, vocab, top)
        tok = guide.tokenizer
        table = Table(title=f"CLIP tokens nearest to / farthest from v_res (of {len(scores)})")
        for col in ("rank", "nearest", "cos", "farthest", "cos "):
            table.add_column(col)
        for r, (a, b) in enumerate(zip(top_i.tolist(), bottom_i.tolist(), strict=True), 1):
            table.add_row(str(r), tok.convert_ids_to_tokens(a), f"{float(scores[a]):.3f}",
                          tok.convert_ids_to_tokens(b), f"{float(scores[b]):.3f}")
        con.print(table)
        from exposurekit.models.serialization import save_state

        path = save_state(outdir / "shifted_residual.safetensors", {"v_res": shifted, "v_res_original": v_res},
                          {"encoder": enc_spec, "top_k": top, "cos_shifted_original": float(shifted @ v_res)})
        con.print(f"shifted residual (cos with the original {float(shifted @ v_res):.3f}) → {path}")
    elif enc_spec == "exposure":
        png = outdir / "residual_exposure.png"
        moves = explain_exposure(v_pos, v_neg, v_res, png, top)
        table = Table(title="features the residual moves most (+ = the well-lit side has more)")
        table.add_column("feature")
        table.add_column("v_res", justify="right")
        for n, v in moves:
            table.add_row(n, f"{v:+.3f}")
        con.print(table)
        con.print(f"plot → {png}")
    else:
        vals, idx = v_res.abs().topk(min(top, v_res.numel()))
        con.print("largest residual entries: " + ", ".join(f"#{i}: {float(v_res[i]):+.3f}" for i in idx.tolist()))
    del torch


def _residual(backlit: list[Path] | None, well_lit: list[Path] | None, encoder: str | None,
              weights: Path | None) -> tuple[str, tuple[Any, Any, Any], Any]:
    """(encoder spec, (v_pos, v_neg, v_res), encoder module or None)."""
    from exposurekit.guidance import build_encoder, folder_embeddings, load_image_set, residual_vector

    if backlit or well_lit:
        if not backlit or not well_lit:
            raise ValueError("give both --backlit and --well-lit, or neither (then --weights is explained)")
        spec = encoder or "exposure"
        enc = build_encoder(spec)
        b = load_image_set(backlit, 224, "backlit")
        w = load_image_set(well_lit, 224, "well-lit")
        r = residual_vector(folder_embeddings(enc, w, 224), folder_embeddings(enc, b, 224))
        return spec, (r.v_pos, r.v_neg, r.v_res), enc
    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.models.serialization import load_state

    path = weights or WEIGHTS_DIR / "rave.safetensors"
    state, meta = load_state(path)
    if "guidance.v_res" not in state:
        raise ValueError(f"{path} holds no residual vector (not RAVE weights)")
    spec = encoder or meta.get("encoder") or "exposure"
    enc = build_encoder(spec) if spec.startswith("clip:") else None
    return spec, (state["guidance.v_pos"], state["guidance.v_neg"], state["guidance.v_res"]), enc
