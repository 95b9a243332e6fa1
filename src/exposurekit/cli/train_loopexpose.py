"""``exposurekit train loopexpose``: train LoopExpose with nested-loop fusion pseudo-labels on real brackets."""

from __future__ import annotations

from pathlib import Path

import typer

from exposurekit.cli.app import train_app

_DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


@train_app.command("loopexpose")
def train_loopexpose_command(
    data: Path = typer.Option(None, "--data", "-d",
                              help="the shared data root (SICE, MEF, DeepFuse, MEFB found by folder name) or any "
                                   "bracket folder (default: ../shared/data)"),
    config: Path = typer.Option(None, "--config", "-c", help="YAML training config (LoopExposeTrainConfig fields)"),
    run_dir: Path = typer.Option(Path("runs/loopexpose"), "--run-dir", help="checkpoints, plots, config, weights"),
    resume: bool = typer.Option(False, "--resume", help="continue from RUN_DIR/last.pt"),
    epochs: int = typer.Option(None, "--epochs", help="number of epochs (documented: 40)"),
    steps: int = typer.Option(None, "--steps", help="optimiser steps (sequences) per epoch (default: all)"),
    switch_epoch: int = typer.Option(None, "--switch-epoch",
                                     help="first epoch whose labels fuse the model's corrections (documented: 10)"),
    cosine_epoch: int = typer.Option(None, "--cosine-epoch", help="first epoch of the cosine lr decay (documented: 30)"),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate (documented: 5e-4)"),
    long_side: int = typer.Option(None, "--long-side", help="training frames' long side in pixels"),
    max_frames: int = typer.Option(None, "--max-frames", help="subsample longer sequences to this many frames"),
    margin: float = typer.Option(None, "--margin", help="ranking-loss margin (release: 0)"),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads"),
    device: str = typer.Option(None, "--device", help="torch device, e.g. cuda"),
    seed: int = typer.Option(None, "--seed", help="random seed"),
    install: bool = typer.Option(False, "--install",
                                 help="also copy the weights over the package's shipped loopexpose.safetensors"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Train LoopExpose (L1 + ranking + 0.5·(1−SSIM) against Mertens pseudo-labels); held-out scenes never used.

    Writes RUN_DIR/last.pt (resumable), history.json, losses.png (with the pseudo-labels' PSNR on held-out
    scenes per epoch), config.yaml and loopexpose.safetensors.
    """
    import shutil

    from rich.console import Console

    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.methods.loopexpose import LoopExpose, LoopExposeTrainConfig
    from exposurekit.train.config import load_config

    con = Console(stderr=True)
    data = data or _DEFAULT_DATA
    if not data.exists():
        con.print(f"[red]error:[/red] {data}: no such folder (pass --data)")
        raise typer.Exit(2)
    try:
        cfg = load_config(LoopExposeTrainConfig, config, epochs=epochs, steps_per_epoch=steps,
                          label_switch_epoch=switch_epoch, cosine_start_epoch=cosine_epoch, lr=lr,
                          long_side=long_side, max_frames=max_frames, ranking_margin=margin,
                          threads=threads, device=device, seed=seed)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    method = LoopExpose()
    method.name = "loopexpose"
    try:
        result = method.fit(data, run_dir=run_dir, config=cfg, progress=not quiet, resume=resume)
    except (FileNotFoundError, ValueError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    weights = method.save_weights(Path(run_dir) / "loopexpose.safetensors")
    last = result.history[-1] if result.history else {}
    con.print(f"[green]done[/green] in {result.seconds:.0f} s on {result.extra['n_sequences']} sequences "
              f"({result.extra['n_frames']} frames); loss {last.get('loss', float('nan')):.4f}; "
              f"weights {weights}; curves {result.plot}")
    if install:
        dst = WEIGHTS_DIR / "loopexpose.safetensors"
        shutil.copyfile(weights, dst)
        con.print(f"installed → {dst}")
