"""Edge preservation: Canny edge maps (OpenCV) and the F1 score of edges with a distance tolerance.

``edge_f1(output, target)`` detects edges in both images with the *same* fixed Canny thresholds, so an
output that loses contrast (too dark, clipped) loses edges, and one that amplifies noise gains false ones.
A detected edge pixel counts as correct when a reference edge lies within ``tolerance`` pixels
(Euclidean), as in the BSDS boundary benchmark, but without one-to-one matching.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["binarize_edge_map", "canny_edges", "edge_f1", "edge_nms", "edge_prf", "load_edge_detector", "thin_edges"]


def canny_edges(images: Tensor, low: float = 50.0, high: float = 150.0, blur_sigma: float = 1.0) -> Tensor:
    """Binary Canny edge maps of RGB images (grey = Rec. 601 luma of 8-bit codes).

    Args:
        images: :math:`(B, 3, H, W)` or :math:`(B, 1, H, W)` in [0, 1].
        low: lower hysteresis threshold on the 0-255 gradient scale.
        high: upper hysteresis threshold.
        blur_sigma: Gaussian pre-blur (0 disables it).

    Returns:
        :math:`(B, 1, H, W)` bool.
    """
    import cv2

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected (B, 1|3, H, W), got {tuple(images.shape)}")
    arr = images.detach().float().clamp(0, 1).cpu().numpy()
    out = []
    for im in arr:
        grey = im[0] if im.shape[0] == 1 else 0.299 * im[0] + 0.587 * im[1] + 0.114 * im[2]
        g8 = np.ascontiguousarray((grey * 255.0 + 0.5).astype(np.uint8))
        if blur_sigma > 0:
            g8 = cv2.GaussianBlur(g8, (0, 0), blur_sigma)
        out.append(cv2.Canny(g8, low, high, L2gradient=True) > 0)
    return torch.from_numpy(np.stack(out)[:, None])


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest True pixel of ``mask`` (inf when none)."""
    from scipy.ndimage import distance_transform_edt

    if not mask.any():
        return np.full(mask.shape, np.inf)
    return distance_transform_edt(~mask)


def edge_prf(pred: Tensor, target: Tensor, tolerance: float = 2.0) -> tuple[Tensor, Tensor, Tensor]:
    """Precision, recall and F1 of binary edge maps with a distance tolerance.

    Args:
        pred: :math:`(B, 1, H, W)` bool (or {0,1}) edges of the output.
        target: :math:`(B, 1, H, W)` edges of the reference.
        tolerance: a pixel matches when the other map has an edge within this Euclidean distance.

    Returns:
        ``(precision, recall, f1)``, each :math:`(B,)` float32. Two empty maps score 1; one empty
        map against a non-empty one scores 0.

    Example:
        >>> t = torch.zeros(1, 1, 9, 9, dtype=torch.bool); t[0, 0, :, 4] = True
        >>> p = torch.zeros_like(t); p[0, 0, :, 5] = True   # shifted by one pixel
        >>> [round(float(v), 3) for v in edge_prf(p, t, tolerance=1.0)]
        [1.0, 1.0, 1.0]
        >>> [round(float(v), 3) for v in edge_prf(p, t, tolerance=0.5)]
        [0.0, 0.0, 0.0]
    """
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[1] != 1:
        raise ValueError(f"expected two (B, 1, H, W) maps, got {tuple(pred.shape)} and {tuple(target.shape)}")
    ps, rs, fs = [], [], []
    for p, t in zip(pred.bool().cpu().numpy()[:, 0], target.bool().cpu().numpy()[:, 0]):
        n_p, n_t = int(p.sum()), int(t.sum())
        if n_p == 0 and n_t == 0:
            prec = rec = f1 = 1.0
        elif n_p == 0 or n_t == 0:
            prec = rec = f1 = 0.0
        else:
            prec = float((_distance_to(t)[p] <= tolerance).mean())
            rec = float((_distance_to(p)[t] <= tolerance).mean())
            f1 = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
        ps.append(prec)
        rs.append(rec)
        fs.append(f1)
    as_t = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    return as_t(ps), as_t(rs), as_t(fs)


def edge_f1(
    x: Tensor,
    y: Tensor,
    tolerance: float = 2.0,
    detector: object | None = None,
    threshold: float = 0.5,
) -> Tensor:
    """Edge-preservation F1 between an output and its reference.

    Args:
        x: :math:`(B, 3, H, W)` output in [0, 1].
        y: :math:`(B, 3, H, W)` reference.
        tolerance: matching distance in pixels.
        detector: ``None`` for Canny (:func:`canny_edges` defaults), or a callable mapping
            :math:`(B, 3, H, W)` images to :math:`(B, 1, H, W)` edge probabilities in [0, 1]
            (e.g. :class:`exposurekit.models.pidinet.PiDiNet`); its maps are thinned by non-maximum
            suppression and thresholded at ``threshold`` (:func:`binarize_edge_map`).
        threshold: binarisation threshold of network edge maps.

    Returns:
        :math:`(B,)` F1 in [0, 1]; higher is better.
    """
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if detector is None:
        ex, ey = canny_edges(x), canny_edges(y)
    else:
        with torch.no_grad():
            ex = binarize_edge_map(detector(x), threshold)  # type: ignore[operator]
            ey = binarize_edge_map(detector(y), threshold)  # type: ignore[operator]
    return edge_prf(ex, ey, tolerance)[2]


def edge_nms(prob: Tensor) -> Tensor:
    """Non-maximum suppression of soft edge maps across the edge direction (as in edge benchmarks).

    The normal of the edge is the gradient direction of the (lightly smoothed) map; a pixel survives
    when it is not smaller than both neighbours along it (directions quantised to 0/45/90/135°).

    Args:
        prob: :math:`(B, 1, H, W)` edge strengths.

    Returns:
        :math:`(B, 1, H, W)` strengths with the non-maxima set to 0.
    """
    import cv2

    out = []
    for m in prob.detach().float().cpu().numpy()[:, 0]:
        sm = cv2.GaussianBlur(m, (0, 0), 1.0)
        gx = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=3)
        ang = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
        q = (np.round(ang / 45.0).astype(int) % 4)  # 0: horizontal gradient, 1: 45°, 2: vertical, 3: 135°
        p = np.pad(m, 1, mode="edge")
        h, w = m.shape
        c = p[1:-1, 1:-1]
        nb = {0: (p[1:-1, :-2], p[1:-1, 2:]), 1: (p[:-2, :-2], p[2:, 2:]),
              2: (p[:-2, 1:-1], p[2:, 1:-1]), 3: (p[:-2, 2:], p[2:, :-2])}
        keep = np.zeros((h, w), dtype=bool)
        for k, (a, b) in nb.items():
            keep |= (q == k) & (c >= a) & (c >= b)
        out.append(np.where(keep, m, 0.0))
    return torch.from_numpy(np.stack(out)[:, None].astype(np.float32))


def binarize_edge_map(prob: Tensor, threshold: float = 0.5) -> Tensor:
    """Soft network edge map → thin binary edges: :func:`edge_nms`, threshold, :func:`thin_edges`."""
    return thin_edges(edge_nms(prob) >= threshold)


def thin_edges(mask: Tensor) -> Tensor:
    """Morphological thinning (scikit-image) of :math:`(B, 1, H, W)` binary edge maps to 1-px lines.

    Network edge maps are several pixels thick; thinning them makes precision/recall comparable to Canny.
    """
    from skimage.morphology import thin

    arr = mask.bool().cpu().numpy()
    return torch.from_numpy(np.stack([thin(a[0])[None] for a in arr]))


def load_edge_detector(path: str | Path, device: str = "cpu") -> torch.nn.Module:
    """Load a PiDiNet or TEED checkpoint (detected from its keys) as an edge network.

    The network maps :math:`(B, 3, H, W)` RGB in [0, 1] to :math:`(B, 1, H, W)` edge probabilities.
    """
    ck = torch.load(Path(path), map_location="cpu", weights_only=True)
    state = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    keys = {k.removeprefix("module.") for k in state}
    if "init_block.weight" in keys:
        from exposurekit.models.pidinet import load_pidinet

        return load_pidinet(path, device)
    if "block_1.conv1.weight" in keys and "block_cat.DWconv1.weight" in keys:
        from exposurekit.models.teed import load_teed

        return load_teed(path, device)
    raise ValueError(f"{path}: neither a PiDiNet nor a TEED checkpoint (keys: {sorted(keys)[:4]} ...)")
