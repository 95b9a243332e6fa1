"""Evaluation: the shared held-out bracket protocol, dataset runners and reports.

* :func:`evaluate_brackets` — score any method on held-out real brackets (SICE / MEF / DeepFuse),
  per EV offset; :func:`brackets_markdown` turns results into a table.
"""

from __future__ import annotations

from exposurekit.evaluate.heldout import (
    PROTOCOL,
    SimpleBracket,
    brackets_markdown,
    evaluate_brackets,
    heldout_brackets,
    load_frame,
    pick_target,
)

__all__ = [
    "PROTOCOL",
    "SimpleBracket",
    "brackets_markdown",
    "evaluate_brackets",
    "heldout_brackets",
    "load_frame",
    "pick_target",
]
