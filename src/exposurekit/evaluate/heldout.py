"""The shared held-out bracket protocol: how every exposure-correction method is scored on real brackets.

Usage (what UEC, LoopExpose, SIMR and the baselines all call)::

    from exposurekit.evaluate import evaluate_brackets, brackets_markdown

    res = evaluate_brackets("linear-gain")                    # held-out SICE/MEF/DeepFuse brackets
    res = evaluate_brackets(my_method, brackets, long_side=512)
    res["mean"]        # {"psnr": .., "ssim": .., "delta_e": .., "n": ..} over all scored frames
    res["by_offset"]   # {"-2": {...}, "-1": {...}, "+1": {...}, "+2": {...}, ...} means per step offset
    res["rows"]        # one dict per scored frame (dataset, scene, frame, offset, ev_offset, scores)
    print(brackets_markdown([res, res2]))                     # one table, methods x offsets

Protocol (``PROTOCOL`` is stored in every result):

* brackets: ``exposurekit.data.brackets.shared_brackets(data_root)`` filtered to ``bracket.held_out``
  (``exposurekit.data.splits.is_held_out``), unless given. Brackets with fewer than 3 frames (MEFB
  under/over pairs) have no middle frame and are skipped; score them with the no-reference runner.
* target: the bracket's middle frame (frames are ordered dark→bright); with an even number of frames,
  the one of the two central frames whose mean luma is closer to 0.5. With ``use_reference=True`` a
  bracket's shipped ground truth (``bracket.reference``, SICE ``Label/``) is the target instead and every
  frame is scored (the shared SICE copy has no labels).
* every other frame is corrected by the method *alone* (no reference image is given to it) and
  scored against the target with PSNR, SSIM (Gaussian 11, σ 1.5, RGB averaged over channels, data
  range 1) and mean CIEDE2000; optionally edge F1 (Canny, 2 px tolerance).
* offset = frame index − target index (−2 … +2 for a 5-frame bracket); ``ev_offset`` is the EV
  difference when the bracket knows its EVs. Offsets beyond ±3 are pooled as ``"<=-3"``/``">=+3"`` in
  ``by_group`` (MEF sequences have up to 30 frames).
* size: frames of one bracket are brought to one size (``exposurekit.data.brackets.read_bracket``: the
  most common frame size), then shrunk (antialiased) so the long side is at most ``long_side`` (512 by
  default). DeepFuse frames are handheld and stay slightly misaligned (this lowers every method alike).
* the unchanged input is scored too (``input_psnr`` ...), the "do nothing" reference line.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "PROTOCOL",
    "SimpleBracket",
    "brackets_markdown",
    "evaluate_brackets",
    "heldout_brackets",
    "load_frame",
    "pick_target",
    "summarize_rows",
]

PROTOCOL = {
    "name": "heldout-brackets-v1",
    "target": "middle frame (even count: central frame with mean luma nearest 0.5)",
    "metrics": "PSNR (RGB, range 1), SSIM (Gaussian 11, sigma 1.5, RGB mean), CIEDE2000 mean",
    "min_frames": 3,
}

OFFSET_GROUP_LIMIT = 3


@dataclass
class SimpleBracket:
    """A minimal bracket (what :mod:`exposurekit.data.brackets` provides): frames ordered dark→bright.

    Attributes:
        dataset: dataset name (``"sice"``, ``"mef"``, ...).
        scene: scene name.
        frames: image paths, or :math:`(3, H, W)` / :math:`(1, 3, H, W)` tensors, dark→bright.
        evs: exposure values per frame when known.
        held_out: whether the scene is in the held-out split.
    """

    dataset: str
    scene: str
    frames: list[Any]
    evs: list[float] | None = None
    held_out: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def load_frame(frame: Any, long_side: int | None = 512) -> Tensor:
    """A frame (path, array or tensor) as a :math:`(1, 3, H, W)` float tensor, long side ≤ ``long_side``."""
    from exposurekit.ops import array_to_tensor, resize_long_side

    if isinstance(frame, (str, Path)):
        from exposurekit.io import read_image

        x = array_to_tensor(read_image(frame).rgb)
    elif isinstance(frame, Tensor):
        x = frame if frame.ndim == 4 else frame[None]
        x = x.float()
    else:
        x = array_to_tensor(frame)
    if long_side:
        x = resize_long_side(x, long_side)
    return x


def _bracket_frames(br: Any, long_side: int | None) -> list[Tensor]:
    """Frames of a bracket as (1, 3, H, W) tensors of one size (``read_bracket`` for files)."""
    if all(isinstance(f, (str, Path)) for f in br.frames):
        from exposurekit.data.brackets import read_bracket

        stack = read_bracket(br, long_side=long_side)
        return [stack[i : i + 1] for i in range(len(stack))]
    return [load_frame(f, long_side) for f in br.frames]


def pick_target(frames: Sequence[Tensor]) -> int:
    """Index of the target frame among ``frames`` (dark→bright), per :data:`PROTOCOL`."""
    n = len(frames)
    if n % 2 == 1:
        return n // 2
    from exposurekit.ops.color import luminance

    a, b = n // 2 - 1, n // 2
    da = abs(float(luminance(frames[a]).mean()) - 0.5)
    db = abs(float(luminance(frames[b]).mean()) - 0.5)
    return a if da <= db else b


def heldout_brackets(data_root: str | Path | None = None, datasets: Iterable[str] | None = None) -> list[Any]:
    """The held-out real brackets of ``../shared/data`` with at least 3 frames.

    Args:
        data_root: folder holding the shared data sets (default: ``$EXPOSUREKIT_SHARED/data`` or
            ``../shared/data`` next to the repository).
        datasets: keep only these dataset names (e.g. ``["sice", "mef"]``).
    """
    from exposurekit.data.brackets import shared_brackets

    root = Path(data_root) if data_root else default_data_root()
    keep = set(datasets) if datasets else None
    out = []
    for b in shared_brackets(root):
        if not b.held_out or len(b.frames) < PROTOCOL["min_frames"]:
            continue
        if keep is not None and b.dataset not in keep:
            continue
        out.append(b)
    return out


def default_data_root() -> Path:
    """``$EXPOSUREKIT_SHARED/data`` or the ``shared/data`` folder beside the repository checkout."""
    import os

    env = os.environ.get("EXPOSUREKIT_SHARED")
    if env:
        return Path(env) / "data"
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return Path("shared/data")


def _as_corrector(method: Any, device: str) -> tuple[str, Callable[[Tensor], Tensor]]:
    if isinstance(method, str):
        from exposurekit.methods import load_method

        method = load_method(method, device=device)
    name = getattr(method, "name", "") or type(method).__name__
    from exposurekit.methods.base import SequenceMethod

    if isinstance(method, SequenceMethod):
        raise TypeError(f"{name!r} fuses a sequence; score fusion without reference, not with brackets")
    fn = method.correct if hasattr(method, "correct") else method
    return name, fn


def _offset_group(o: int) -> str:
    if o <= -OFFSET_GROUP_LIMIT:
        return f"<={-OFFSET_GROUP_LIMIT}"
    if o >= OFFSET_GROUP_LIMIT:
        return f">=+{OFFSET_GROUP_LIMIT}"
    return f"{o:+d}"


def _offset_key(k: str) -> float:
    k2 = k.replace("<=", "").replace(">=", "")
    v = float(k2)
    return v - 0.5 if k.startswith("<=") else v + 0.5 if k.startswith(">=") else v


SCORE_KEYS = ("psnr", "ssim", "delta_e")


def _means(rows: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(rows)}
    for k in keys:
        vals = [r[k] for r in rows if k in r and r[k] is not None and math.isfinite(r[k])]
        out[k] = sum(vals) / len(vals) if vals else float("nan")
    return out


def evaluate_brackets(
    method: Any,
    brackets: Iterable[Any] | None = None,
    long_side: int | None = 512,
    *,
    data_root: str | Path | None = None,
    datasets: Iterable[str] | None = None,
    edges: bool = False,
    edge_detector: Callable[[Tensor], Tensor] | None = None,
    use_reference: bool = False,
    space: str = "rgb",
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Score a method on held-out real brackets (see the module docstring for the protocol).

    Args:
        method: a registered method name, a :class:`~exposurekit.methods.base.Method`, or any callable
            mapping :math:`(1, 3, H, W)` in [0, 1] to the same shape.
        brackets: objects with ``dataset``, ``scene``, ``frames`` (dark→bright; paths or tensors) and
            optionally ``evs``; ``None`` loads :func:`heldout_brackets` (``data_root``, ``datasets``).
        long_side: cap of the long side in pixels (``None``: native size).
        data_root: see :func:`heldout_brackets`.
        datasets: see :func:`heldout_brackets`.
        edges: also compute edge F1 (Canny, 2 px tolerance).
        edge_detector: a network for edge F1 instead of Canny (implies ``edges``), e.g.
            ``exposurekit.metrics.edges.load_edge_detector(path)``.
        use_reference: score against ``bracket.reference`` (SICE ``Label/``) where a bracket has one, every
            frame including the middle one (offset 0); brackets without one keep the middle-frame target.
        space: ``"rgb"`` or ``"y"`` (BT.601 luma) for PSNR and SSIM.
        device: where the method runs.
        progress: print one line per bracket.

    Returns:
        ``{"method", "protocol", "long_side", "space", "rows", "mean", "input_mean", "by_offset", "by_group",
        "by_dataset", "n_brackets", "seconds"}``; ``by_*`` values are ``{"n", "psnr", "ssim",
        "delta_e"[, "edge_f1"], "input_psnr", ...}`` means.
    """
    from exposurekit.metrics import delta_e2000, edge_f1, psnr, ssim
    from exposurekit.ops import resize_to

    name, correct = _as_corrector(method, device)
    edges = edges or edge_detector is not None
    if brackets is None:
        brackets = heldout_brackets(data_root, datasets)
    rows: list[dict[str, Any]] = []
    n_br = 0
    t_method = 0.0
    t0 = time.perf_counter()
    for br in brackets:
        if len(br.frames) < PROTOCOL["min_frames"]:
            continue
        frames = _bracket_frames(br, long_side)
        t = pick_target(frames)
        target = frames[t]
        ref = getattr(br, "reference", None) if use_reference else None
        if ref is not None:  # a shipped ground truth (SICE Label/): score every frame against it
            from exposurekit.ops import resize_to

            target = resize_to(load_frame(ref, None), tuple(frames[t].shape[-2:]))
        evs = list(getattr(br, "evs", None) or [])
        n_br += 1
        for i, x in enumerate(frames):
            if i == t and ref is None:
                continue
            if x.shape != target.shape:
                x = resize_to(x, tuple(target.shape[-2:]))
            t1 = time.perf_counter()
            with torch.no_grad():
                y = correct(x.to(device)).detach().float().cpu().clamp(0, 1)
            t_method += time.perf_counter() - t1
            if y.shape != target.shape:
                raise ValueError(f"{name}: output shape {tuple(y.shape)} != input shape {tuple(target.shape)}")
            both = torch.cat([y, x])
            tt = target.expand_as(both)
            p, s, d = psnr(both, tt, space=space), ssim(both, tt, space=space), delta_e2000(both, tt)
            row: dict[str, Any] = {
                "dataset": br.dataset, "scene": br.scene, "frame": i, "target": t, "n_frames": len(frames),
                "offset": i - t, "target_kind": "reference" if ref is not None else "middle", "ev_offset": (evs[i] - evs[t]) if len(evs) == len(frames) else None,
                "psnr": float(p[0]), "ssim": float(s[0]), "delta_e": float(d[0]),
                "input_psnr": float(p[1]), "input_ssim": float(s[1]), "input_delta_e": float(d[1]),
            }
            if edges:
                e = edge_f1(both, tt, detector=edge_detector)
                row["edge_f1"], row["input_edge_f1"] = float(e[0]), float(e[1])
            rows.append(row)
        if progress:
            print(f"[{name}] {br.dataset}/{br.scene}: {len(frames)} frames, target {t}", flush=True)
    return {
        "method": name,
        "protocol": PROTOCOL,
        "long_side": long_side,
        "space": space,
        "n_brackets": n_br,
        "edge_detector": (type(edge_detector).__name__ if edge_detector is not None else "canny") if edges else None,
        **summarize_rows(rows, edges),
        "seconds": {"total": time.perf_counter() - t0, "method": t_method},
    }


def summarize_rows(rows: list[dict[str, Any]], edges: bool = False) -> dict[str, Any]:
    """Means of per-frame rows: ``{"rows", "mean", "input_mean", "by_offset", "by_group", "by_dataset"}``.

    Use it to re-aggregate a subset of ``evaluate_brackets(...)["rows"]`` (e.g. one dataset).
    """
    keys = [*SCORE_KEYS, *(["edge_f1"] if edges else [])]
    all_keys = [*keys, *(f"input_{k}" for k in keys)]

    def group(keyfn: Callable[[dict[str, Any]], str], sort: Callable[[str], Any] = str) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(keyfn(r), []).append(r)
        return {k: _means(groups[k], all_keys) for k in sorted(groups, key=sort)}

    return {
        "rows": rows,
        "mean": _means(rows, keys),
        "input_mean": {k: _means(rows, [f"input_{k}"])[f"input_{k}"] for k in keys},
        "by_offset": group(lambda r: f"{r['offset']:+d}", _offset_key),
        "by_group": group(lambda r: _offset_group(r["offset"]), _offset_key),
        "by_dataset": group(lambda r: r["dataset"]),
    }


def brackets_markdown(results: Sequence[dict[str, Any]], metric: str = "psnr", with_input: bool = True) -> str:
    """A markdown table: one row per method, one column per offset group, plus the overall mean.

    Args:
        results: outputs of :func:`evaluate_brackets` (same brackets for a fair table).
        metric: ``"psnr"``, ``"ssim"``, ``"delta_e"`` or ``"edge_f1"``; ``"all"`` puts PSNR / SSIM / ΔE in
            each cell.
        with_input: add a first row scoring the unchanged inputs ("input (no correction)").
    """
    if not results:
        return ""
    cols = sorted({k for r in results for k in r["by_group"]}, key=_offset_key)
    fmt = {"psnr": "{:.2f}", "ssim": "{:.3f}", "delta_e": "{:.2f}", "edge_f1": "{:.3f}"}

    def cell(stats: dict[str, Any] | None, prefix: str = "") -> str:
        if not stats:
            return "–"
        ks = ["psnr", "ssim", "delta_e"] if metric == "all" else [metric]
        return " / ".join(fmt[k].format(stats.get(prefix + k, float("nan"))) for k in ks)

    label = "PSNR / SSIM / ΔE00" if metric == "all" else metric
    head = f"| method ({label}) | " + " | ".join(f"{c}" for c in cols) + " | all | n |"
    lines = [head, "|" + "---|" * (len(cols) + 3)]
    if with_input:
        r0 = results[0]
        allin = {k: r0["input_mean"].get(k) for k in ("psnr", "ssim", "delta_e", "edge_f1")}
        lines.append("| input (no correction) | " + " | ".join(cell(r0["by_group"].get(c), "input_") for c in cols)
                     + f" | {cell(allin)} | {r0['mean']['n']} |")
    for r in results:
        lines.append(f"| {r['method']} | " + " | ".join(cell(r["by_group"].get(c)) for c in cols)
                     + f" | {cell(r['mean'])} | {r['mean']['n']} |")
    return "\n".join(lines)
