"""Training infrastructure shared by every learned method: config, loop, checkpoints, resume, plots."""

from __future__ import annotations

from exposurekit.train.config import TrainConfig, load_config
from exposurekit.train.trainer import Trainer, TrainResult

__all__ = ["TrainConfig", "TrainResult", "Trainer", "load_config"]
