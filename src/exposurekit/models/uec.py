"""UEC network (Unsupervised Exposure Correction, ECCV 2024): encoder, λ predictor, per-pixel corrector.

The network changes only radiometry: a per-pixel colour function ``h`` (1×1 convolutions) is blended
with the identity by a per-image scalar ``λ`` predicted from the exposure features of the current
image and of a reference exposure, and the step is applied three times with the same weights::

    x_{k+1} = clamp(x_k + λ_k · (g(x_k) − x_k), 0, 1),     λ_k = d(e(x_k), e(ref))

19,388 parameters in total (encoder 13,984, predictor 793, corrector 4,611).

Differences from the released code (all parameter-free, so the count is unchanged):

* λ has shape ``(B, 1, 1, 1)``, so any batch size is correct (the release broadcasts a ``(B, 1)``
  λ over the height, which is only right for ``B = 1``).
* The encoder sees an *antialiased* copy resized to height 256, keeping the aspect ratio.
* ``anchor_black`` (default on): ``g(x) = h(x) − h(0)``, so a black pixel stays exactly black for every
  λ. The release uses ``g = h``; since ``h(0) ≠ 0`` it lifts blacks (with a colour cast) whenever λ is
  strongly negative. ``anchor_black=False`` gives the release's behaviour.

Reference:
    Unsupervised Exposure Correction, ECCV 2024 (arXiv 2507.17252).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from exposurekit.ops.resize import resize_height

__all__ = ["UEC", "ExposureEncoder", "ParameterPredictor", "PixelCorrector", "colour_grid", "lookup"]


def colour_grid(size: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Tensor:
    """The ``size``³ colours of a regular grid over [0, 1]³, :math:`(size^3, 3)` as RGB, red fastest."""
    t = torch.linspace(0, 1, size, device=device, dtype=dtype)
    b, g, r = torch.meshgrid(t, t, t, indexing="ij")
    return torch.stack([r, g, b], dim=-1).reshape(-1, 3)


def lookup(table: Tensor, x: Tensor) -> Tensor:
    """Trilinear lookup of images in a colour table, differentiable in both.

    Args:
        table: :math:`(C, N, N, N)` indexed ``[c, b, g, r]`` (see :func:`colour_grid`), or
            :math:`(B, C, N, N, N)` with one table per image.
        x: :math:`(B, 3, H, W)` in [0, 1].

    Returns:
        :math:`(B, C, H, W)`.
    """
    b = x.shape[0]
    if table.ndim == 4:
        table = table.unsqueeze(0).expand(b, *table.shape)
    grid = (x.permute(0, 2, 3, 1).unsqueeze(1) * 2 - 1).to(table.dtype)
    out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[:, :, 0]


class ExposureEncoder(nn.Module):
    """Exposure features of an image: two strided convolutions, then per-channel std, mean and max.

    Args:
        height: the input is resized (bilinear, antialiased when shrinking) to this height, keeping
            the aspect ratio; ``None`` uses the input as it is.
        channels: convolution width (32 in the paper; the feature has ``3 * channels`` entries).
        padding_mode: padding of the two convolutions (``"reflect"``, ``"zeros"``, ``"replicate"``).

    Shape:
        - Input: :math:`(B, 3, H, W)` in [0, 1].
        - Output: :math:`(B, 3 \\cdot channels)` = ``[std, mean, max]`` over space.
    """

    def __init__(self, height: int | None = 256, channels: int = 32, padding_mode: str = "reflect") -> None:
        super().__init__()
        self.height = height
        self.conv1 = nn.Conv2d(3, channels, 7, stride=2, padding=1, padding_mode=padding_mode)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=2, padding=1, padding_mode=padding_mode)

    def forward(self, x: Tensor) -> Tensor:
        if self.height is not None and x.shape[-2] != self.height:
            x = resize_height(x, self.height)
        f = F.relu(self.conv2(F.relu(self.conv1(x))))
        f = f.flatten(2)
        return torch.cat([f.std(dim=2, unbiased=True), f.mean(dim=2), f.amax(dim=2)], dim=1)


class ParameterPredictor(nn.Module):
    """λ from the features of the input and of the reference.

    A shared ``Linear(features, hidden) + tanh`` embeds both; their concatenation goes through
    ``Linear(2 * hidden, 1)`` with no output activation (λ is an unbounded signed scalar).

    Shape:
        - f_in: :math:`(B, F)`; f_ref: :math:`(B, F)` or :math:`(1, F)` (broadcast).
        - Output: :math:`(B, 1)`.
    """

    def __init__(self, features: int = 96, hidden: int = 8) -> None:
        super().__init__()
        self.embed = nn.Linear(features, hidden)
        self.head = nn.Linear(2 * hidden, 1)

    def forward(self, f_in: Tensor, f_ref: Tensor) -> Tensor:
        a = torch.tanh(self.embed(f_in))
        b = torch.tanh(self.embed(f_ref)).expand(a.shape[0], -1)
        return self.head(torch.cat([a, b], dim=1))


class PixelCorrector(nn.Module):
    """The per-pixel colour function ``h``: 1×1 convolutions 3→64→64→3 with LeakyReLU(0.01).

    Works on images :math:`(B, 3, H, W)` and, through :meth:`forward_points`, on lists of colours
    :math:`(P, 3)` (used to bake lookup tables and for fast exact evaluation).
    """

    def __init__(self, hidden: int = 64, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = slope
        self.conv1 = nn.Conv2d(3, hidden, 1)
        self.conv2 = nn.Conv2d(hidden, hidden, 1)
        self.conv3 = nn.Conv2d(hidden, 3, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(x), self.slope)
        x = F.leaky_relu(self.conv2(x), self.slope)
        return self.conv3(x)

    def forward_points(self, p: Tensor) -> Tensor:
        """``h`` on colours :math:`(P, 3)` → :math:`(P, 3)` (the same function as :meth:`forward`)."""
        for i, conv in enumerate((self.conv1, self.conv2, self.conv3)):
            p = F.linear(p, conv.weight.flatten(1), conv.bias)
            if i < 2:
                p = F.leaky_relu(p, self.slope)
        return p


class UEC(nn.Module):
    """The UEC network: ``passes`` corrections towards the exposure of a reference.

    Args:
        height: encoder input height (see :class:`ExposureEncoder`).
        passes: number of correction steps (3 in the paper), each re-encoding the current image.
        anchor_black: use ``g(x) = h(x) − h(0)`` so black stays black (see the module docstring).
        padding_mode: encoder padding.

    Example:
        >>> net = UEC()
        >>> sum(p.numel() for p in net.parameters())
        19388
        >>> x, ref = torch.rand(2, 3, 64, 96), torch.rand(1, 3, 64, 64)
        >>> net(x, ref).shape
        torch.Size([2, 3, 64, 96])
    """

    def __init__(self, height: int | None = 256, passes: int = 3, anchor_black: bool = True,
                 padding_mode: str = "reflect") -> None:
        super().__init__()
        self.config: dict[str, Any] = {"height": height, "passes": passes, "anchor_black": anchor_black,
                                       "padding_mode": padding_mode}
        self.passes = passes
        self.anchor_black = anchor_black
        self.encoder = ExposureEncoder(height, padding_mode=padding_mode)
        self.predictor = ParameterPredictor(3 * 32, 8)
        self.corrector = PixelCorrector()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights N(0, 0.02), biases 0 (as the paper)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ pieces
    def encode(self, x: Tensor) -> Tensor:
        """Exposure features :math:`(B, 96)` of images :math:`(B, 3, H, W)`."""
        return self.encoder(x)

    def lam(self, x: Tensor, ref_features: Tensor) -> Tensor:
        """λ :math:`(B,)` for images :math:`(B, 3, H, W)` towards reference features :math:`(B|1, 96)`."""
        return self.predictor(self.encoder(x), ref_features)[:, 0]

    def g(self, x: Tensor) -> Tensor:
        """The colour function ``g`` (``h``, minus ``h(0)`` when ``anchor_black``) on images."""
        g = self.corrector(x)
        if self.anchor_black:
            g = g - self.corrector(x.new_zeros(1, 3, 1, 1))
        return g

    def g_table(self, size: int = 33) -> Tensor:
        """``g`` sampled on a regular ``size``³ grid of [0, 1]³, differentiable.

        Returns:
            :math:`(3, size, size, size)` indexed ``[channel, b, g, r]`` (red varies fastest), the
            layout of ``grid_sample`` (x = red, y = green, z = blue) and of Pillow's ``Color3DLUT``.
        """
        p = colour_grid(size, self.corrector.conv1.weight.device, self.corrector.conv1.weight.dtype)
        g = self.corrector.forward_points(p)
        if self.anchor_black:
            g = g - self.corrector.forward_points(p.new_zeros(1, 3))
        return g.T.reshape(3, size, size, size)

    def step(self, x: Tensor, lam: Tensor, table: Tensor | None = None) -> Tensor:
        """One correction ``clamp(x + λ (g(x) − x), 0, 1)``; ``lam`` is :math:`(B,)`.

        ``table`` (from :meth:`g_table`) evaluates ``g`` by trilinear lookup instead of the network:
        far cheaper per pixel, and differentiable (used for training).
        """
        g = self.g(x) if table is None else lookup(table, x)
        return (x + lam.view(-1, 1, 1, 1) * (g - x)).clamp(0, 1)

    def step_points(self, p: Tensor, lam: Tensor | float) -> Tensor:
        """:meth:`step` on colours :math:`(*, P, 3)`; ``lam`` is a float or broadcasts (e.g. :math:`(B, 1, 1)`)."""
        g = self.corrector.forward_points(p)
        if self.anchor_black:
            g = g - self.corrector.forward_points(p.new_zeros(1, 3))
        return (p + lam * (g - p)).clamp(0, 1)

    # ------------------------------------------------------------------ whole model
    def forward(self, x: Tensor, ref: Tensor | None = None, ref_features: Tensor | None = None,
                passes: int | None = None, return_lambdas: bool = False,
                table: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """Correct ``x`` towards the exposure of ``ref`` (an image) or of ``ref_features``.

        Args:
            x: :math:`(B, 3, H, W)` in [0, 1].
            ref: :math:`(B, 3, H', W')` or :math:`(1, 3, H', W')` reference image(s).
            ref_features: :math:`(B, 96)` or :math:`(1, 96)`; used when ``ref`` is ``None``.
            passes: override the number of passes.
            return_lambdas: also return the λ of every pass, :math:`(B, passes)`.
            table: evaluate ``g`` through this lookup table (see :meth:`g_table`, :meth:`step`).

        Returns:
            :math:`(B, 3, H, W)` in [0, 1] (and the λs).
        """
        if ref_features is None:
            if ref is None:
                raise ValueError("give a reference image `ref` or reference features `ref_features`")
            ref_features = self.encoder(ref)
        lams = []
        for _ in range(self.passes if passes is None else passes):
            lam = self.lam(x, ref_features)
            x = self.step(x, lam, table)
            lams.append(lam)
        return (x, torch.stack(lams, dim=1)) if return_lambdas else x
