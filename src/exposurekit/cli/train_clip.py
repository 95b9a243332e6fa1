"""``exposurekit train rave | cliplit-latent | cliplit``: train the CLIP-guided methods on unpaired folders."""

from __future__ import annotations

from pathlib import Path

import typer

from exposurekit.cli.app import train_app

_HELP = {
    "rave": "Train RAVE (one stage, residual-vector guidance).",
    "cliplit-latent": "Train CLIP-LIT-Latent (two latent class vectors, rounds of enhancement and ranking).",
    "cliplit": "Train CLIP-LIT (two learned text prompts; needs --encoder clip:PATH).",
}


def _train(name: str, backlit: list[Path], well_lit: list[Path], encoder: str | None, config: Path | None,
           run_dir: Path | None, resume: bool, steps: int | None, rounds: int | None, lr: float | None,
           batch_size: int | None, size: int | None, identity: str | None, threads: int | None,
           device: str | None, seed: int | None, no_cache: bool, install: bool, quiet: bool,
           keep: list[Path] | None = None, keep_frac: float | None = None) -> None:
    import shutil

    from rich.console import Console

    from exposurekit.guidance.clip import ClipLoadError
    from exposurekit.methods.base import WEIGHTS_DIR
    from exposurekit.methods.registry import load_method

    con = Console(stderr=True)
    if not backlit or not well_lit:
        con.print("[red]error:[/red] give at least one --backlit and one --well-lit folder")
        raise typer.Exit(2)
    extra: dict[str, object] = {}
    if steps is not None:
        extra["steps" if name == "rave" else "enhance_steps"] = steps
    if rounds is not None:
        extra["rounds"] = rounds
    if identity is not None:
        extra["identity"] = identity
    if keep:
        extra["keep_dirs"] = [str(k) for k in keep]
    if keep_frac is not None:
        extra["keep_frac"] = keep_frac
    run_dir = run_dir or Path("runs") / name
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no shipped weights": we are about to train them
        method = load_method(name, encoder=encoder)
    method.model.reset_parameters()
    try:
        result = method.fit(backlit, well_lit, run_dir=run_dir, config=config, encoder=encoder, resume=resume,
                            progress=not quiet, use_cache=not no_cache, lr=lr, batch_size=batch_size, crop=size,
                            threads=threads if threads is not None else 1, device=device, seed=seed,
                            extra=extra or None)
    except (ImportError, ClipLoadError, FileNotFoundError, ValueError) as exc:
        con.print(f"[red]error:[/red] {str(exc).splitlines()[0]}")
        raise typer.Exit(2) from None
    weights = method.save_weights(Path(run_dir) / f"{name}.safetensors")
    last = result.history[-1] if result.history else {}
    con.print(f"[green]done[/green] in {result.extra.get('train_seconds', result.seconds):.0f} s "
              f"(embeddings {result.extra.get('embed_seconds', 0):.0f} s, phases {result.extra.get('phase_seconds')}); "
              f"last loss {last.get('loss', float('nan')):.4f}; weights {weights}; curves {result.plot}")
    if install:
        dst = WEIGHTS_DIR / f"{name}.safetensors"
        shutil.copyfile(weights, dst)
        con.print(f"installed → {dst}")


def _make(name: str) -> None:
    @train_app.command(name, help=_HELP[name])
    def command(
        backlit: list[Path] = typer.Option(None, "--backlit", "-b", help="folder of backlit photos (repeatable)"),
        well_lit: list[Path] = typer.Option(None, "--well-lit", "-w", help="folder of well-lit photos (repeatable)"),
        encoder: str = typer.Option(None, "--encoder", "-e",
                                    help="guidance encoder: exposure (default) | uec | clip:PATH_OR_HUB_ID"),
        config: Path = typer.Option(None, "--config", "-c", help="YAML training config (method settings under `extra`)"),
        run_dir: Path = typer.Option(None, "--run-dir", help=f"checkpoints, curves, weights (default runs/{name})"),
        resume: bool = typer.Option(False, "--resume", help="continue from RUN_DIR/last.pt"),
        steps: int = typer.Option(None, "--steps", help="enhancement steps (per round for the prompt methods)"),
        rounds: int = typer.Option(None, "--rounds", help="enhancement/refinement rounds (cliplit, cliplit-latent)"),
        lr: float = typer.Option(None, "--lr", help="network learning rate"),
        batch_size: int = typer.Option(None, "--batch-size", help="images per step"),
        size: int = typer.Option(None, "--size", help="side of the square training images"),
        identity: str = typer.Option(None, "--identity", help="identity loss: pyramid | msssim | clip"),
        threads: int = typer.Option(None, "--threads", help="torch CPU threads (default 1)"),
        device: str = typer.Option(None, "--device", help="torch device, e.g. cuda"),
        seed: int = typer.Option(None, "--seed", help="random seed"),
        no_cache: bool = typer.Option(False, "--no-cache", help="recompute the folder embeddings"),
        install: bool = typer.Option(False, "--install", help="copy the weights over the shipped ones"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
        keep: list[Path] = typer.Option(None, "--keep", help="folder of well-exposed photos the network should "
                                        "leave alone, also shown over-exposed (repeatable; default: --well-lit)"),
        keep_frac: float = typer.Option(None, "--keep-frac", help="keep images per step as a fraction of the "
                                        "batch (identity loss only; 0 = published, backlit inputs only)"),
    ) -> None:
        _train(name, backlit or [], well_lit or [], encoder, config, run_dir, resume, steps, rounds, lr,
               batch_size, size, identity, threads, device, seed, no_cache, install, quiet, keep, keep_frac)

    command.__doc__ = _HELP[name]


for _name in ("rave", "cliplit-latent", "cliplit"):
    _make(_name)
