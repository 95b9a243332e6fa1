"""UEC network: parameter count, shapes, batches, black anchoring, lookup tables, losses."""

from __future__ import annotations

import pytest
import torch

from exposurekit.losses.uec import monotonic_loss, restoration_loss, total_variation
from exposurekit.models.uec import (
    UEC,
    ExposureEncoder,
    ParameterPredictor,
    PixelCorrector,
    colour_grid,
    lookup,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: the CI machine is small and shared; OpenMP threads then only contend."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_parameter_count():
    net = UEC()
    assert _count(net) == 19_388
    assert _count(net.encoder) == 13_984
    assert _count(net.predictor) == 793
    assert _count(net.corrector) == 4_611
    assert _count(ExposureEncoder()) + _count(ParameterPredictor()) + _count(PixelCorrector()) == 19_388


def _perturbed(anchor_black: bool = True) -> UEC:
    """A network with larger random weights, so that λ and h are far from trivial."""
    net = UEC(height=64, anchor_black=anchor_black)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net.eval()


@pytest.mark.parametrize("shape", [(1, 3, 32, 48), (3, 3, 40, 33), (2, 3, 300, 17)])
def test_shapes_and_range(shape):
    net = _perturbed()
    net.encoder.height = 256  # the published input height, upsampling small inputs
    x = torch.rand(*shape)
    y, lams = net(x, ref=torch.rand(1, 3, 50, 70), return_lambdas=True)
    assert y.shape == x.shape
    assert lams.shape == (shape[0], 3)
    assert float(y.detach().min()) >= 0 and float(y.detach().max()) <= 1
    assert net.encode(x).shape == (shape[0], 96)


def test_batch_equals_single_images():
    """λ is per image (B, 1, 1, 1): a batch gives the same result as each image alone (the release's
    (B, 1) λ broadcast over rows and was only right for B = 1)."""
    net = _perturbed()
    x = torch.rand(3, 3, 24, 40)
    x[1] *= 0.2  # very different exposures in one batch
    ref = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        together, lams = net(x, ref=ref, return_lambdas=True)
        alone = torch.cat([net(x[i:i + 1], ref=ref) for i in range(3)])
    assert not torch.allclose(lams[:, 0], lams[0, 0].expand(3))
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_per_image_references():
    net = _perturbed()
    x = torch.rand(2, 3, 16, 16)
    refs = torch.stack([torch.full((3, 16, 16), 0.1), torch.full((3, 16, 16), 0.9)])
    with torch.no_grad():
        both = net(x, ref=refs)
        first = net(x[:1], ref=refs[:1])
    torch.testing.assert_close(both[:1], first, atol=1e-5, rtol=0)


def test_encoder_resizes_with_antialiasing():
    enc = ExposureEncoder(height=64)
    # a fine checkerboard: aliasing would turn it into a flat or striped image of very different statistics
    y, x = torch.meshgrid(torch.arange(512), torch.arange(512), indexing="ij")
    board = ((x + y) % 2).float().expand(1, 3, -1, -1)
    grey = torch.full((1, 3, 64, 64), 0.5)
    with torch.no_grad():
        torch.testing.assert_close(enc(board), enc(grey), atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("lam", [-4.0, -1.0, 2.0])
def test_black_stays_black(lam):
    net = _perturbed(anchor_black=True)
    black = torch.zeros(1, 3, 4, 4)
    assert float(net.step(black, torch.tensor([lam])).detach().abs().max()) < 1e-5
    raw = _perturbed(anchor_black=False)  # the release's g = h lifts blacks for some λ
    lifted = max(float(raw.step(black, torch.tensor([v])).detach().max()) for v in (-4.0, 4.0))
    assert lifted > 0.01


def test_points_match_images():
    net = _perturbed()
    x = torch.rand(1, 3, 8, 8)
    pts = x.permute(0, 2, 3, 1).reshape(-1, 3)
    a = net.step(x, torch.tensor([0.7])).permute(0, 2, 3, 1).reshape(-1, 3)
    b = net.step_points(pts, 0.7)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_colour_grid_and_lookup_identity():
    n = 9
    grid = colour_grid(n)
    assert grid.shape == (n**3, 3)
    assert torch.equal(grid[1], torch.tensor([1 / (n - 1), 0.0, 0.0]))  # red varies fastest
    table = grid.T.reshape(3, n, n, n)
    x = torch.rand(2, 3, 10, 12)
    torch.testing.assert_close(lookup(table, x), x, atol=1e-5, rtol=0)


def test_g_table_lookup_close_to_network():
    net = UEC(height=32)  # paper initialisation
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        err = (lookup(net.g_table(33), x) - net.g(x)).abs().max()
    assert float(err) < 1e-4


def test_table_training_path_is_differentiable():
    net = UEC(height=32)
    x, ref = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = net(x, ref=ref, table=net.g_table(9))
    restoration_loss(out, ref).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert float(net.corrector.conv1.weight.grad.abs().sum()) > 0


def test_losses_by_hand():
    a = torch.zeros(1, 3, 2, 2)
    b = torch.full((1, 3, 2, 2), 0.5)
    assert float(restoration_loss(a, b)) == pytest.approx(0.25)
    assert float(monotonic_loss(b, a)) == pytest.approx(0.5)
    assert float(monotonic_loss(a, b)) == 0.0
    ramp = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).expand(1, 3, 2, 2)
    assert float(total_variation(ramp)) == pytest.approx(1.0)  # vertical diffs 0, horizontal diffs 1
    assert restoration_loss(torch.rand(4, 3, 2, 2), b.expand(4, -1, -1, -1), reduction="none").shape == (4,)
