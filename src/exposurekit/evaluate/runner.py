"""Evaluate a method on a dataset spec: per-image and mean scores, with or without reference.

    from exposurekit.evaluate import evaluate_spec
    res = evaluate_spec("clahe", "shared:dicm", size="long:512")       # no reference
    res = evaluate_spec("clahe", "msec:/data/MSEC/test", size="256")   # PSNR/SSIM/ΔE/edge F1 vs expert C
    res = evaluate_spec("clahe", "shared:heldout")                     # held-out bracket protocol

Full-reference rows hold ``psnr``, ``ssim``, ``delta_e``, ``edge_f1`` (Canny, or a PiDiNet/TEED network
when given) and the no-reference scores of the output; no-reference rows hold ``lum_err`` (|mean luma −
0.5|), ``mean_lum``, ``shadows``, ``highlights`` (clipped fractions), ``colourfulness`` and ``niqe``,
for the output and (``input_*``) for the unchanged input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["evaluate_samples", "evaluate_spec", "load_sized", "no_reference_scores", "parse_size"]

REF_KEYS = ("psnr", "ssim", "delta_e", "edge_f1")
NOREF_KEYS = ("lum_err", "mean_lum", "shadows", "highlights", "colourfulness", "niqe")


def parse_size(size: str | int | None) -> int | tuple[str, int] | None:
    """``"native"``/``None`` → ``None``; ``"256"``/``256`` → 256 (square squash); ``"long:N"`` → ``("long", N)``."""
    if size is None or size == "native":
        return None
    if isinstance(size, int):
        return size
    if isinstance(size, tuple):
        return size
    s = str(size)
    if s.startswith("long:"):
        return ("long", int(s[5:]))
    if s.isdigit():
        return int(s)
    raise ValueError(f"size must be 'native', an integer (square) or 'long:N', got {size!r}")


def _resize(x: Tensor, size: int | tuple[str, int] | None) -> Tensor:
    from exposurekit.ops import resize_long_side, resize_to

    if size is None:
        return x
    if isinstance(size, tuple):
        return resize_long_side(x, size[1])
    return resize_to(x, (size, size))


def load_sized(path: str | Path, size: int | tuple[str, int] | str | None) -> Tensor:
    """Read an image as :math:`(1, 3, H, W)` in [0, 1], resized per :func:`parse_size`."""
    from exposurekit.io import read_image
    from exposurekit.ops import array_to_tensor

    return _resize(array_to_tensor(read_image(path).rgb), parse_size(size) if isinstance(size, str) else size)


def no_reference_scores(images: Tensor, with_niqe: bool = True) -> dict[str, Tensor]:
    """The no-reference statistics of :math:`(B, 3, H, W)` images, each :math:`(B,)`.

    NIQE is skipped (NaN) for images smaller than 96 px on a side.
    """
    from exposurekit.metrics import clipped_fractions, colourfulness, mean_luminance, niqe

    lum = mean_luminance(images)
    sh, hi = clipped_fractions(images)
    out = {"lum_err": (lum - 0.5).abs(), "mean_lum": lum, "shadows": sh, "highlights": hi,
           "colourfulness": colourfulness(images)}
    if with_niqe and min(images.shape[-2:]) >= 96:
        out["niqe"] = niqe(images)
    else:
        out["niqe"] = torch.full_like(lum, float("nan"))
    return out


def _corrector(method: Any, device: str) -> tuple[str, Callable[[Tensor], Tensor]]:
    from exposurekit.evaluate.heldout import _as_corrector

    return _as_corrector(method, device)


def evaluate_samples(
    method: Any,
    samples: Sequence[Any],
    size: str | int | None = "native",
    space: str = "rgb",
    edge_detector: Callable[[Tensor], Tensor] | None = None,
    with_niqe: bool = True,
    device: str = "cpu",
    save_dir: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score ``method`` on samples (:class:`exposurekit.data.benchmarks.Sample`).

    Args:
        method: registered name, :class:`~exposurekit.methods.base.Method`, or a callable on
            :math:`(1, 3, H, W)` tensors.
        samples: inputs with optional targets; samples without a target are scored without reference.
        size: ``"native"``, ``"256"`` (square squash, UEC's protocol) or ``"long:N"``.
        space: ``"rgb"`` or ``"y"`` for PSNR/SSIM.
        edge_detector: network edge maps for edge F1 (default Canny).
        with_niqe: compute NIQE for outputs and inputs.
        device: where the method runs.
        save_dir: write each output there as PNG (``<name>.png``).
        progress: print a line per image.

    Returns:
        ``{"method", "size", "space", "rows", "mean", "input_mean", "by_group", "ms_per_image"}``.
    """
    from exposurekit.metrics import delta_e2000, edge_f1, psnr, ssim

    name, correct = _corrector(method, device)
    sz = parse_size(size)
    rows: list[dict[str, Any]] = []
    t_method = 0.0
    for s in samples:
        x = load_sized(s.input, sz)
        t0 = time.perf_counter()
        with torch.no_grad():
            y = correct(x.to(device)).detach().float().cpu().clamp(0, 1)
        t_method += time.perf_counter() - t0
        row: dict[str, Any] = {"name": s.name, "group": s.group, "input": str(s.input),
                               "target": str(s.target) if s.target else None, "height": y.shape[-2],
                               "width": y.shape[-1]}
        both = torch.cat([y, x])
        nr = no_reference_scores(both, with_niqe)
        for k, v in nr.items():
            row[k], row[f"input_{k}"] = float(v[0]), float(v[1])
        if s.target is not None:
            from exposurekit.ops import resize_to

            t = resize_to(load_sized(s.target, sz), tuple(y.shape[-2:])).expand_as(both)
            p, ss, d = psnr(both, t, space=space), ssim(both, t, space=space), delta_e2000(both, t)
            e = edge_f1(both, t, detector=edge_detector)
            for k, v in zip(REF_KEYS, (p, ss, d, e)):
                row[k], row[f"input_{k}"] = float(v[0]), float(v[1])
        rows.append(row)
        if save_dir is not None:
            from exposurekit.io import ImageData, write_image
            from exposurekit.ops import tensor_to_array

            out = Path(save_dir) / f"{s.name}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            write_image(out, ImageData(rgb=tensor_to_array(y, "uint8")))
        if progress:
            print(f"[{name}] {s.name}: " + ", ".join(f"{k}={row[k]:.3f}" for k in (*REF_KEYS, *NOREF_KEYS)
                                                     if k in row), flush=True)
    return {"method": name, "size": str(size), "space": space,
            "edge_detector": type(edge_detector).__name__ if edge_detector is not None else "canny",
            **summarize(rows), "ms_per_image": 1000 * t_method / max(len(rows), 1)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"rows", "mean", "input_mean", "by_group"}`` of evaluation rows (NaNs ignored)."""
    import math

    keys = [k for k in (*REF_KEYS, *NOREF_KEYS) if any(k in r for r in rows)]

    def means(rs: list[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(rs)}
        for k in keys:
            vals = [r[prefix + k] for r in rs if r.get(prefix + k) is not None and math.isfinite(r[prefix + k])]
            out[k] = sum(vals) / len(vals) if vals else float("nan")
        return out

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get("group", ""), []).append(r)
    by_group = {g: means(v) for g, v in sorted(groups.items())} if len(groups) > 1 else {}
    return {"rows": rows, "mean": means(rows), "input_mean": means(rows, "input_"), "by_group": by_group}


def evaluate_spec(method: Any, spec: str, size: str | int | None = "native", space: str = "rgb",
                  edge_detector: Callable[[Tensor], Tensor] | None = None, with_niqe: bool = True,
                  limit: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """Evaluate on a dataset spec (see :mod:`exposurekit.data.benchmarks`); brackets use the held-out protocol.

    ``limit`` keeps the first N samples (or brackets). Extra keyword arguments go to
    :func:`evaluate_samples`.
    """
    from exposurekit.data.benchmarks import load_spec

    kind, items = load_spec(spec)
    if limit:
        items = items[:limit]
    if kind == "brackets":
        from exposurekit.evaluate.heldout import evaluate_brackets

        sz = parse_size(size)
        long_side = sz[1] if isinstance(sz, tuple) else sz if isinstance(sz, int) else None
        res = evaluate_brackets(method, items, long_side=long_side, edges=True, edge_detector=edge_detector,
                                space=space, device=kwargs.get("device", "cpu"))
        res.update({"spec": spec, "kind": kind, "size": str(size)})
        return res
    res = evaluate_samples(method, items, size=size, space=space, edge_detector=edge_detector,
                           with_niqe=with_niqe, **kwargs)
    res.update({"spec": spec, "kind": kind})
    return res
