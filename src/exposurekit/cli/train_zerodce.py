"""``exposurekit train zerodce``: train DCE-Net with the four Zero-DCE losses on a folder of frames."""

from __future__ import annotations

from pathlib import Path

import typer

from exposurekit.cli.app import train_app


@train_app.command("zerodce")
def train_zerodce_command(
    data: Path = typer.Option(..., "--data", help="folder of training frames (SICE Part 1: held-out scenes are "
                                                  "removed; any folder of photos works)"),
    run_dir: Path = typer.Option(Path("runs/zerodce"), "--run-dir", help="checkpoint, history, plot, config"),
    config: Path = typer.Option(None, "--config", "-c", help="YAML file of training settings"),
    out: Path = typer.Option(None, "--out", "-o", help="where to save the trained weights (.safetensors); "
                                                      "default RUN_DIR/zerodce.safetensors"),
    epochs: int = typer.Option(None, "--epochs", help="passes over the data (paper: 200)"),
    steps_per_epoch: int = typer.Option(None, "--steps-per-epoch", help="cap on steps per epoch"),
    batch_size: int = typer.Option(None, "--batch-size", help="frames per step (paper: 8)"),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate (paper: 1e-4)"),
    size: int = typer.Option(None, "--size", help="frames are resized to SIZE×SIZE (paper: 256)"),
    crop: int = typer.Option(None, "--crop", help="random CROP×CROP windows of the resized frames per step "
                                               "(paper: none)"),
    max_images: int = typer.Option(None, "--max-images", help="use only the first N frames (evenly spaced)"),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads"),
    device: str = typer.Option(None, "--device", help="torch device"),
    seed: int = typer.Option(None, "--seed"),
    include_held_out: bool = typer.Option(False, "--include-held-out",
                                          help="train on held-out scenes too (never for shipped weights)"),
    resume: bool = typer.Option(True, "--resume/--restart", help="continue from RUN_DIR/last.pt when present"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Train Zero-DCE (DCE-Net, 79,416 parameters) without reference images."""
    from rich.console import Console

    from exposurekit.methods.zerodce import ZeroDCE, ZeroDCEConfig, load_training_images, training_paths
    from exposurekit.train import load_config

    con = Console(stderr=True)
    try:
        cfg = load_config(ZeroDCEConfig, config, epochs=epochs, steps_per_epoch=steps_per_epoch,
                          batch_size=batch_size, lr=lr, size=size, crop=crop, threads=threads, device=device,
                          seed=seed)
        paths = training_paths(data, exclude_held_out=not include_held_out)
    except (ValueError, OSError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if max_images is not None and 0 < max_images < len(paths):
        step = len(paths) / max_images
        paths = [paths[int(i * step)] for i in range(max_images)]
    con.print(f"zerodce: {len(paths)} frames from {data} at {cfg.size}×{cfg.size}, {cfg.epochs} epochs, "
              f"batch {cfg.batch_size}, lr {cfg.lr:g}")
    import time

    cpu0 = time.process_time()
    frames = load_training_images(paths, cfg.size)
    method = ZeroDCE()
    method.name = "zerodce"
    result = method.fit(frames, run_dir, cfg, progress=not quiet, resume=resume)
    weights = method.save_weights(out or Path(run_dir) / "zerodce.safetensors")
    last = result.history[-1] if result.history else {}
    con.print(f"done in {result.seconds:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU; final loss {last.get('loss', float('nan')):.4f}; "
              f"weights {weights}; plot {result.plot}")
