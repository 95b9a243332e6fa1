"""Datasets: benchmark layouts, real brackets, synthesized sequences, and the held-out split."""

from __future__ import annotations

from exposurekit.data.splits import is_held_out, split_scenes

__all__ = ["is_held_out", "split_scenes"]
