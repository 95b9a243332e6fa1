"""A small, generic training loop with checkpoints, resume, a rich progress bar and loss plots.

A method supplies its networks, an optimiser, a ``step(batch, epoch) -> dict`` that returns the loss
terms (``"loss"`` is the one optimised) and a function giving the batches of an epoch. The trainer does
the rest identically for every method::

    trainer = Trainer({"net": net}, torch.optim.Adam(net.parameters(), 1e-4), run_dir, config)
    result = trainer.fit(step, batches_of_epoch)
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from exposurekit.train.config import TrainConfig
from exposurekit.train.plots import plot_history

StepFn = Callable[[Any, int], dict[str, Tensor]]


@dataclass
class TrainResult:
    """What a run produced: per-epoch history, the run folder, and the files written there."""

    history: list[dict[str, float]]
    run_dir: Path
    checkpoint: Path
    plot: Path | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; returns a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class Trainer:
    """Run epochs of optimiser steps; checkpoint, resume, log and plot.

    Args:
        modules: the networks to train and checkpoint, by name.
        optimizer: optimiser over their parameters.
        run_dir: folder for ``last.pt`` (resumable checkpoint), ``history.json``, ``losses.png``
            and ``config.yaml``.
        config: the resolved :class:`TrainConfig` (saved to the run folder).
        scheduler: optional per-epoch LR scheduler (``step()`` after each epoch).
        state: extra picklable state to checkpoint and restore (e.g. learned prompts, round number).
        progress: show a rich progress bar.
    """

    def __init__(self, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer, run_dir: str | Path,
                 config: TrainConfig, scheduler: Any | None = None, state: dict[str, Any] | None = None,
                 progress: bool = True) -> None:
        self.modules, self.optimizer, self.scheduler = modules, optimizer, scheduler
        self.run_dir = Path(run_dir)
        self.config = config
        self.state = state if state is not None else {}
        self.progress = progress
        self.history: list[dict[str, float]] = []
        self.start_epoch = 0
        self.ckpt_path = self.run_dir / "last.pt"
        self.plot_interval_s = 30.0  # the loss plot is redrawn at most this often (and at the end)
        self._last_plot = -float("inf")

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self, epoch: int) -> Path:
        """Write ``last.pt`` atomically: networks, optimiser, scheduler, history, extra state."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        blob = {
            "epoch": epoch,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": self.history,
            "state": self.state,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        }
        fd, tmp = tempfile.mkstemp(prefix=".last.", suffix=".pt", dir=self.run_dir)
        os.close(fd)
        torch.save(blob, tmp)
        os.replace(tmp, self.ckpt_path)
        return self.ckpt_path

    def resume(self) -> bool:
        """Load ``last.pt`` if present; training continues after its epoch. Returns whether it did."""
        if not self.ckpt_path.exists():
            return False
        blob = torch.load(self.ckpt_path, map_location="cpu", weights_only=False)
        for k, m in self.modules.items():
            m.load_state_dict(blob["modules"][k])
        self.optimizer.load_state_dict(blob["optimizer"])
        if self.scheduler is not None and blob.get("scheduler") is not None:
            self.scheduler.load_state_dict(blob["scheduler"])
        self.history = list(blob.get("history", []))
        self.state.update(blob.get("state", {}))
        rng = blob.get("rng")
        if rng:
            torch.set_rng_state(rng["torch"])
            np.random.set_state(rng["numpy"])
            random.setstate(rng["python"])
        self.start_epoch = int(blob["epoch"]) + 1
        return True

    # ---------------------------------------------------------------- loop
    def fit(self, step: StepFn, batches: Callable[[int], Iterable[Any]], *,
            on_epoch_end: Callable[[int], dict[str, float] | None] | None = None,
            resume: bool = True, title: str = "") -> TrainResult:
        """Train from the current epoch to ``config.epochs``.

        Args:
            step: ``step(batch, epoch) -> {"loss": tensor, other terms...}``; the trainer calls
                ``backward`` on ``"loss"`` and steps the optimiser.
            batches: ``batches(epoch)`` yields the batches of one epoch.
            on_epoch_end: optional validation hook returning extra scalars for the history.
            resume: continue from ``run_dir/last.pt`` when it exists.
            title: plot title.

        Raises:
            FloatingPointError: a non-finite loss (the batch index and terms are in the message).
        """
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(self.run_dir / "config.yaml")
        if resume:
            self.resume()
        t0 = time.perf_counter()
        params = [p for m in self.modules.values() for p in m.parameters() if p.requires_grad]
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("{task.fields[info]}")]
        with Progress(*columns, disable=not self.progress, transient=False) as bar:
            task = bar.add_task("epoch", total=cfg.epochs, completed=self.start_epoch, info="")
            for epoch in range(self.start_epoch, cfg.epochs):
                for m in self.modules.values():
                    m.train()
                sums: dict[str, float] = {}
                n = 0
                for i, batch in enumerate(batches(epoch)):
                    if cfg.steps_per_epoch is not None and i >= cfg.steps_per_epoch:
                        break
                    terms = step(batch, epoch)
                    loss = terms["loss"]
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"non-finite loss at epoch {epoch} step {i}: "
                                                 f"{ {k: float(v) for k, v in terms.items()} }")
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip:
                        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                    self.optimizer.step()
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0.0) + float(v.detach() if isinstance(v, Tensor) else v)
                    n += 1
                    bar.update(task, info=f"step {i + 1} loss {float(loss.detach()):.4f}")
                if self.scheduler is not None:
                    self.scheduler.step()
                record = {"epoch": float(epoch), **{k: v / max(n, 1) for k, v in sums.items()}}
                for m in self.modules.values():
                    m.eval()
                if on_epoch_end is not None:
                    record.update(on_epoch_end(epoch) or {})
                self.history.append(record)
                self.save_checkpoint(epoch)
                self._write_logs(title, plot=time.perf_counter() - self._last_plot >= self.plot_interval_s)
                bar.update(task, advance=1, info=f"loss {record.get('loss', math.nan):.4f}")
        for m in self.modules.values():
            m.eval()
        plot = self._write_logs(title)
        return TrainResult(self.history, self.run_dir, self.ckpt_path, plot, time.perf_counter() - t0)

    def _write_logs(self, title: str, plot: bool = True) -> Path | None:
        (self.run_dir / "history.json").write_text(json.dumps(self.history, indent=1))
        if not self.history or not plot:
            return None
        self._last_plot = time.perf_counter()
        return plot_history(self.history, self.run_dir / "losses.png", title=title)
