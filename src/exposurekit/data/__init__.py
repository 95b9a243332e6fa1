"""Datasets: benchmark layouts, real brackets, synthesized sequences, and the held-out split."""

from __future__ import annotations

from exposurekit.data.brackets import (
    Bracket,
    load_brackets,
    read_bracket,
    shared_brackets,
    split_brackets,
)
from exposurekit.data.sequences import (
    ExposurePairDataset,
    ReferencePairDataset,
    SequenceDataset,
    make_loader,
)
from exposurekit.data.splits import is_held_out, split_scenes

__all__ = [
    "Bracket",
    "ExposurePairDataset",
    "ReferencePairDataset",
    "SequenceDataset",
    "is_held_out",
    "load_brackets",
    "make_loader",
    "read_bracket",
    "shared_brackets",
    "split_brackets",
    "split_scenes",
]
