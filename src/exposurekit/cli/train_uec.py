"""``exposurekit train uec``: train UEC on real brackets plus sequences synthesized from clean photos."""

from __future__ import annotations

from pathlib import Path

import typer

from exposurekit.cli.app import train_app


@train_app.command("uec")
def train_uec_command(
    data: list[Path] = typer.Option(None, "--data", "-d",
                                    help="bracket folder(s) or the shared data root (default: ../shared/data)"),
    config: Path = typer.Option(None, "--config", "-c", help="YAML training config (UEC settings under `extra`)"),
    run_dir: Path = typer.Option(Path("runs/uec"), "--run-dir", help="checkpoints, loss plot, config, weights"),
    resume: bool = typer.Option(False, "--resume", help="continue from RUN_DIR/last.pt"),
    epochs: int = typer.Option(None, "--epochs", help="number of epochs"),
    steps: int = typer.Option(None, "--steps", help="optimiser steps per epoch"),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate"),
    batch_size: int = typer.Option(None, "--batch-size", help="pairs per step"),
    crop: int = typer.Option(None, "--crop", help="crop side in pixels"),
    tv_weight: float = typer.Option(None, "--tv-weight", help="weight of the total-variation term (paper: 0.1)"),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads (default 1)"),
    device: str = typer.Option(None, "--device", help="torch device, e.g. cuda"),
    seed: int = typer.Option(None, "--seed", help="random seed"),
    install: bool = typer.Option(False, "--install",
                                 help="also copy the trained weights over the package's shipped uec.safetensors"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Train UEC (restoration + monotonic + TV losses, Adam); held-out scenes are never read.

    Writes RUN_DIR/last.pt (resumable), history.json, losses.png, config.yaml and uec.safetensors.
    """
    import shutil

    from rich.console import Console

    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.methods.uec import UECMethod

    con = Console(stderr=True)
    method = UECMethod()
    method.name = "uec"
    extra = {"tv_weight": tv_weight} if tv_weight is not None else None
    try:
        result = method.fit(list(data) if data else None, config=config, run_dir=run_dir, resume=resume,
                            progress=not quiet, epochs=epochs, steps_per_epoch=steps, lr=lr,
                            batch_size=batch_size, crop=crop, threads=threads, device=device, seed=seed,
                            extra=extra)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    weights = result.extra["weights"]
    last = result.history[-1] if result.history else {}
    con.print(f"[green]done[/green] in {result.seconds:.0f} s; loss {last.get('loss', float('nan')):.4f}; "
              f"weights {weights}; curves {result.plot}")
    if install:
        dst = WEIGHTS_DIR / "uec.safetensors"
        shutil.copyfile(weights, dst)
        con.print(f"installed → {dst}")
