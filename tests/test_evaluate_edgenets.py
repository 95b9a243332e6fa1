"""PiDiNet / TEED written from their papers: pixel-difference kernels, and the real checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from exposurekit.metrics.edges import binarize_edge_map, edge_f1, edge_nms, load_edge_detector
from exposurekit.models.pidinet import pdc_kernel
from exposurekit.models.teed import smish


def _naive_pdc(x: torch.Tensor, w: torch.Tensor, kind: str) -> torch.Tensor:
    """Direct evaluation of the PDC definitions at the centre pixel of a 5x5 patch (single channel)."""
    p = x[0, 0]
    c = (2, 2)
    ring = [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1)]  # clockwise around the centre
    wf = w[0, 0]
    if kind == "cd":
        return sum(wf[i, j] * (p[1 + i, 1 + j] - p[c]) for i in range(3) for j in range(3))
    if kind == "ad":
        tot = 0.0
        for t, (i, j) in enumerate(ring):
            ni, nj = ring[(t + 1) % 8]
            tot = tot + wf[i - 1, j - 1] * (p[i, j] - p[ni, nj])
        return tot
    if kind == "rd":
        flat = wf.flatten()
        dirs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
        return sum(flat[s] * (p[2 + 2 * dy, 2 + 2 * dx] - p[2 + dy, 2 + dx]) for s, (dy, dx) in enumerate(dirs, 1))
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["cd", "ad", "rd"])
def test_pdc_kernels_match_their_definitions(kind):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 5, 5, generator=g, dtype=torch.float64)
    w = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    k, pad = pdc_kernel(w, kind)
    y = F.conv2d(x, k, padding=pad)[0, 0, 2, 2]
    assert float(y) == pytest.approx(float(_naive_pdc(x, w, kind)), abs=1e-12)
    # differences of a constant image vanish
    assert F.conv2d(torch.full((1, 1, 7, 7), 0.3, dtype=torch.float64), k, padding=pad)[0, 0, 3, 3].abs() < 1e-12


def test_smish_and_nms():
    assert float(smish(torch.tensor(0.0))) == 0.0
    import math

    hand = 3 * math.tanh(math.log(1 + 1 / (1 + math.exp(-3))))   # = 1.7533
    assert float(smish(torch.tensor(3.0))) == pytest.approx(hand, rel=1e-6)
    assert -0.01 < float(smish(torch.tensor(-10.0))) < 0
    ridge = torch.zeros(1, 1, 9, 9)
    ridge[..., :, 3], ridge[..., :, 4], ridge[..., :, 5] = 0.6, 1.0, 0.6   # a 3-px-wide vertical edge
    kept = edge_nms(ridge)
    assert kept[0, 0, 2:7, 4].eq(1.0).all() and kept[0, 0, 2:7, 3].eq(0).all() and kept[0, 0, 2:7, 5].eq(0).all()
    assert binarize_edge_map(ridge)[0, 0, 2:7].sum(dim=1).eq(1).all()


@pytest.mark.parametrize("name,params", [("pidinet/table5_pidinet-tiny.pth", 84_477), ("teed/teed_biped.pth", 58_910)])
def test_checkpoints_load_and_find_a_step(shared_weights, name, params):
    net = load_edge_detector(shared_weights / name)
    assert sum(p.numel() for p in net.parameters()) == params
    x = torch.full((1, 3, 62, 70), 0.15)
    x[..., :, 35:] = 0.85                    # vertical step at column 35; odd sizes on purpose
    with torch.no_grad():
        e = net(x)
    assert e.shape == (1, 1, 62, 70) and 0 <= float(e.min()) and float(e.max()) <= 1
    inner = e[0, 0, 12:-12]                  # away from the image border
    assert float(inner[:, 32:38].mean()) > 3 * float(torch.cat([inner[:, 8:26], inner[:, 44:62]], 1).mean())
    f_same = edge_f1(x, x, detector=net)
    f_flat = edge_f1(torch.full_like(x, 0.5), x, detector=net)
    assert float(f_same) == 1.0 and float(f_flat) < 0.5


def test_unknown_checkpoint_is_rejected(tmp_path):
    p = tmp_path / "x.pth"
    torch.save({"foo.weight": torch.zeros(1)}, p)
    with pytest.raises(ValueError, match="neither a PiDiNet nor a TEED"):
        load_edge_detector(p)
