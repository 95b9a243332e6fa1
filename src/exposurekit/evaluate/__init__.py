"""Evaluation: the shared held-out bracket protocol, dataset runners and reports.

* :func:`evaluate_brackets` — score any method on held-out real brackets (SICE / MEF / DeepFuse),
  per EV offset; :func:`brackets_markdown` turns results into a table.
* :func:`evaluate_spec` / :func:`evaluate_samples` — any method on a dataset spec
  (:mod:`exposurekit.data.benchmarks`): full-reference scores where targets exist, no-reference otherwise.
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
    summarize_rows,
)
from exposurekit.evaluate.report import markdown_table, replace_block, write_json
from exposurekit.evaluate.runner import (
    evaluate_samples,
    evaluate_spec,
    load_sized,
    no_reference_scores,
    parse_size,
)

__all__ = [
    "PROTOCOL",
    "SimpleBracket",
    "brackets_markdown",
    "evaluate_brackets",
    "heldout_brackets",
    "load_frame",
    "evaluate_samples",
    "evaluate_spec",
    "load_sized",
    "markdown_table",
    "no_reference_scores",
    "parse_size",
    "pick_target",
    "replace_block",
    "summarize_rows",
    "write_json",
]
