"""``exposurekit train simr``: train SIMR on real brackets with exposure-state pseudo-targets."""

from __future__ import annotations

from pathlib import Path

import typer

from exposurekit.cli.app import train_app


@train_app.command("simr")
def train_simr_command(
    data: list[Path] = typer.Option(None, "--data", "-d",
                                    help="bracket folder(s) or the shared data root (default: ../shared/data)"),
    config: Path = typer.Option(None, "--config", "-c", help="YAML training config (SIMR settings under `extra`)"),
    run_dir: Path = typer.Option(Path("runs/simr"), "--run-dir", help="checkpoints, loss plot, config, weights"),
    resume: bool = typer.Option(False, "--resume", help="continue from RUN_DIR/last.pt"),
    preset: str = typer.Option("simr", "--preset", help="network preset: simr or simr-tiny"),
    prior: str = typer.Option("superpixels", "--prior", help="semantic prior: superpixels, fastsam, sam, none"),
    prior_path: Path = typer.Option(None, "--prior-path", help="FastSAM .onnx file or SAM model folder"),
    clip: str = typer.Option(None, "--clip", help="CLIP model (folder or hub id) for the exposure prompts; "
                                                  "default: the stand-in classifier"),
    classifier: Path = typer.Option(None, "--classifier", help="a trained exposure classifier (.safetensors)"),
    target_mode: str = typer.Option(None, "--targets", help="pseudo-targets: global or region"),
    d_state: int = typer.Option(None, "--d-state", help="state size of the selective scan"),
    no_asf: bool = typer.Option(False, "--no-asf", help="switch ASF (semantic fusion) off"),
    epochs: int = typer.Option(None, "--epochs", help="number of epochs"),
    steps: int = typer.Option(None, "--steps", help="optimiser steps per epoch"),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate"),
    batch_size: int = typer.Option(None, "--batch-size", help="crops per step"),
    crop: int = typer.Option(None, "--crop", help="crop side in pixels"),
    max_brackets: int = typer.Option(None, "--max-brackets", help="use only this many training brackets"),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads (default 1)"),
    device: str = typer.Option(None, "--device", help="torch device"),
    seed: int = typer.Option(None, "--seed", help="random seed"),
    install: bool = typer.Option(False, "--install", help="copy the weights over the shipped PRESET.safetensors"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    """Train SIMR (pseudo-target MSE + cosine + prior-region consistency); held-out scenes are never read.

    Writes RUN_DIR/last.pt (resumable), history.json, losses.png, config.yaml, log.txt and PRESET.safetensors.
    """
    import shutil

    from rich.console import Console

    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.methods.simr import SIMR
    from exposurekit.priors import PriorError

    con = Console(stderr=True)
    net_kwargs = {}
    if d_state is not None:
        net_kwargs["d_state"] = d_state
    if no_asf:
        net_kwargs["use_asf"] = False
    extra = {k: v for k, v in {"clip": clip, "classifier": str(classifier) if classifier else None,
                                "target_mode": target_mode, "max_brackets": max_brackets}.items() if v is not None}
    try:
        method = SIMR(preset=preset, prior=prior, prior_path=prior_path, **net_kwargs)
        method.name = preset
        result = method.fit(list(data) if data else None, config=config, run_dir=run_dir, resume=resume,
                            progress=not quiet, epochs=epochs, steps_per_epoch=steps, lr=lr, batch_size=batch_size,
                            crop=crop, threads=threads, device=device, seed=seed, extra=extra or None)
    except (FileNotFoundError, ValueError, KeyError, PriorError) as exc:
        con.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    weights = result.extra["weights"]
    last = result.history[-1] if result.history else {}
    con.print(f"[green]done[/green] in {result.seconds:.0f} s; loss {last.get('loss', float('nan')):.4f}; "
              f"weights {weights}; curves {result.plot}")
    if install:
        dst = WEIGHTS_DIR / f"{preset}.safetensors"
        shutil.copyfile(weights, dst)
        con.print(f"installed → {dst}")
