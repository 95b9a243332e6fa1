"""Training configuration: a dataclass whose defaults a YAML file sets and CLI flags override.

The resolved configuration is written to ``<run_dir>/config.yaml`` (as timm's train.py does).
Method-specific settings go in ``extra`` (a free dict), or a method subclasses :class:`TrainConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C", bound="TrainConfig")


@dataclass
class TrainConfig:
    """Settings every training run has.

    Attributes:
        epochs: passes over the training data.
        steps_per_epoch: cap on optimiser steps per epoch (``None``: the whole loader).
        lr: learning rate.
        batch_size: images (or pairs / sequences) per step.
        crop: training crop side in pixels (``None``: whole images).
        seed: seed of every random choice (data order, crops, init).
        num_workers: DataLoader workers.
        device: torch device.
        grad_clip: max gradient norm (``None``: off).
        threads: torch CPU threads (``None``: torch's default).
        extra: method-specific settings (documented by each method's ``fit``).
    """

    epochs: int = 10
    steps_per_epoch: int | None = None
    lr: float = 1e-4
    batch_size: int = 1
    crop: int | None = 256
    seed: int = 0
    num_workers: int = 0
    device: str = "cpu"
    grad_clip: float | None = None
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def load_config(cls: type[C] = TrainConfig, path: str | Path | None = None, **overrides: Any) -> C:
    """Build ``cls`` from its defaults, then ``path`` (YAML), then ``overrides`` (``None`` dropped).

    Unknown keys are refused with the list of known ones; unknown keys under ``extra`` are kept.

    Raises:
        ValueError: an unknown key.
    """
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        values.update(loaded)
    extra_over = overrides.pop("extra", None) or {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    bad = sorted(set(values) - known)
    if bad:
        raise ValueError(f"unknown training setting(s) {bad}; known: {sorted(known)}")
    if extra_over:
        values["extra"] = {**values.get("extra", {}), **extra_over}
    return cls(**values)
