"""Reports: markdown tables of per-image / mean scores, JSON output, and marker-delimited doc updates."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "markdown_table", "replace_block", "write_json"]

FORMATS = {
    "psnr": "{:.2f}", "ssim": "{:.3f}", "delta_e": "{:.2f}", "edge_f1": "{:.3f}", "lum_err": "{:.3f}",
    "shadows": "{:.3f}", "highlights": "{:.3f}", "colourfulness": "{:.1f}", "niqe": "{:.2f}",
    "mean_lum": "{:.3f}", "ms": "{:.0f}",
}

HEADERS = {
    "psnr": "PSNR ↑", "ssim": "SSIM ↑", "delta_e": "ΔE00 ↓", "edge_f1": "edge F1 ↑", "lum_err": "Ȳ err ↓",
    "shadows": "crushed ↓", "highlights": "clipped ↓", "colourfulness": "colourful.", "niqe": "NIQE ↓",
    "mean_lum": "mean Y", "ms": "ms/img",
}


def _fmt(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return FORMATS.get(key, "{:.3f}").format(v)
    return str(v)


def markdown_table(rows: Sequence[dict[str, Any]], keys: Sequence[str], label: str = "method") -> str:
    """A markdown table with one row per dict (``row[label]`` first), columns ``keys``.

    Example:
        >>> print(markdown_table([{"method": "a", "psnr": 20.0}], ["psnr"]))
        | method | PSNR ↑ |
        |---|---|
        | a | 20.00 |
    """
    lines = [f"| {label} | " + " | ".join(HEADERS.get(k, k) for k in keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for r in rows:
        lines.append(f"| {r.get(label, '')} | " + " | ".join(_fmt(k, r.get(k)) for k in keys) + " |")
    return "\n".join(lines)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (NaN/inf as null), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def clean(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, Path):
            return str(o)
        return o

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(clean(data), f, indent=1, ensure_ascii=False)
    os.replace(tmp, path)
    return path


def replace_block(doc: str | Path, marker: str, text: str) -> bool:
    """Replace what lies between ``<!-- marker -->`` and ``<!-- /marker -->`` in ``doc``.

    The file is re-read right before writing and only the block changes (others edit other sections
    of the same file). Returns ``False`` (and changes nothing) when the markers are absent.
    """
    doc = Path(doc)
    src = doc.read_text()
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    i, j = src.find(start), src.find(end)
    if i < 0 or j < i:
        return False
    new = src[: i + len(start)] + "\n" + text.strip("\n") + "\n" + src[j:]
    doc.write_text(new)
    return True
