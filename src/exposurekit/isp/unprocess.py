"""Exposure sequences from sRGB photos by approximately inverting the camera pipeline ("unprocessing").

After Brooks et al., *Unprocessing Images for Learned Raw Denoising*, CVPR 2019: an sRGB image is taken
back to a plausible linear camera-RGB "raw" image, its exposure is changed there (multiplied by
:math:`2^{EV}` and clipped at sensor saturation, 1), and it is rendered forward again with the same
parameters. The steps and their inverses:

============================  ======================================  ==========================================
forward (camera → sRGB)       inverse (sRGB → camera)                 sampled per image
============================  ======================================  ==========================================
white balance (gains r, b)    divide by the gains                     red gain U(1.9, 2.4), blue gain U(1.5, 1.9)
clip at 1 (highlights white)  —                                       —
colour matrix cam → sRGB      sRGB → cam matrix                       rows of ``I + U(0, 0.4)`` off-diagonals,
                                                                      each row normalised to sum 1
sRGB transfer curve           sRGB → linear (IEC 61966-2-1)           —
global tone curve smoothstep  inverse smoothstep                      on/off (``tone_curve``; on by default)
============================  ======================================  ==========================================

Because every row of the colour matrix sums to 1, white stays white, and with EV 0 the round trip
reproduces the input (to float precision; tested). Brooks et al. sample the colour matrix from four
measured cameras; we sample a generic desaturating matrix instead, since no camera data ship here.

Limits: the source's clipped highlights stay clipped (a blown sky at 1.0 becomes a flat grey patch at
negative EVs, it does not recover detail), JPEG artefacts and noise are scaled with the image, and a
photo already "finished" with local tone mapping is only approximately linearised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from exposurekit.ops.color import linear_to_srgb, srgb_to_linear

__all__ = [
    "UnprocessParams",
    "inverse_smoothstep",
    "process",
    "render_srgb_evs",
    "sample_unprocess_params",
    "smoothstep",
    "unprocess",
]


@dataclass
class UnprocessParams:
    """Camera-pipeline parameters sampled for one image (recorded in the synth manifest).

    Attributes:
        rgb2cam: ``3×3`` matrix, linear sRGB → camera RGB (rows sum to 1).
        red_gain: white-balance gain of the red channel.
        blue_gain: white-balance gain of the blue channel.
        tone_curve: whether the smoothstep tone curve is part of the pipeline.
    """

    rgb2cam: list[list[float]]
    red_gain: float
    blue_gain: float
    tone_curve: bool = True

    def to_dict(self) -> dict:
        """JSON-friendly dict."""
        return asdict(self)

    def matrix(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """``rgb2cam`` as a ``(3, 3)`` tensor."""
        return torch.tensor(self.rgb2cam, dtype=dtype)

    def gains(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """White-balance gains ``(3,)``: ``(red_gain, 1, blue_gain)``."""
        return torch.tensor([self.red_gain, 1.0, self.blue_gain], dtype=dtype)


def sample_unprocess_params(generator: torch.Generator | None = None, tone_curve: bool = True) -> UnprocessParams:
    """Sample pipeline parameters (see the module table) from ``generator`` (deterministic given its seed)."""

    def u(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(*shape or (1,), generator=generator, dtype=torch.float64)

    m = torch.eye(3, dtype=torch.float64) + u(0.0, 0.4, 3, 3) * (1 - torch.eye(3, dtype=torch.float64))
    m = m / m.sum(1, keepdim=True)
    return UnprocessParams(
        rgb2cam=[[float(v) for v in row] for row in m],
        red_gain=float(u(1.9, 2.4)),
        blue_gain=float(u(1.5, 1.9)),
        tone_curve=tone_curve,
    )


def smoothstep(x: Tensor) -> Tensor:
    """Global tone curve :math:`3x^2 - 2x^3` on [0, 1]."""
    x = x.clamp(0, 1)
    return 3 * x**2 - 2 * x**3


def inverse_smoothstep(y: Tensor) -> Tensor:
    """Inverse of :func:`smoothstep`: :math:`1/2 - \\sin(\\arcsin(1 - 2y) / 3)`."""
    y = y.clamp(0, 1)
    return 0.5 - torch.sin(torch.asin((1 - 2 * y).clamp(-1, 1)) / 3)


def _apply_matrix(x: Tensor, m: Tensor) -> Tensor:
    return torch.einsum("ij,...jhw->...ihw", m.to(x.dtype), x)


def unprocess(images: Tensor, params: UnprocessParams) -> Tensor:
    """sRGB :math:`(*, 3, H, W)` in [0, 1] → linear camera RGB (white-balance gains removed), same shape."""
    x = images.clamp(0, 1)
    if params.tone_curve:
        x = inverse_smoothstep(x)
    x = srgb_to_linear(x)
    x = _apply_matrix(x, params.matrix(torch.float64))
    return x / params.gains(torch.float64).to(x.dtype).view(3, 1, 1)


def process(raw: Tensor, params: UnprocessParams) -> Tensor:
    """Linear camera RGB :math:`(*, 3, H, W)` → sRGB in [0, 1]: gains, clip, colour matrix, sRGB curve, tone curve."""
    x = (raw * params.gains(torch.float64).to(raw.dtype).view(3, 1, 1)).clamp(0, 1)
    cam2rgb = torch.linalg.inv(params.matrix(torch.float64))
    x = _apply_matrix(x, cam2rgb).clamp(0, 1)
    x = linear_to_srgb(x)
    if params.tone_curve:
        x = smoothstep(x)
    return x.clamp(0, 1)


def render_srgb_evs(
    image: Tensor,
    evs: Sequence[float] = (-1.5, -1.0, 0.0, 1.0, 1.5),
    params: UnprocessParams | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, UnprocessParams]:
    """Render one sRGB image at each EV through an unprocessed camera pipeline.

    Args:
        image: ``(1, 3, H, W)`` or ``(3, H, W)`` sRGB in [0, 1], ideally well exposed.
        evs: exposure offsets in stops; EV 0 reproduces ``image``.
        params: pipeline parameters; sampled from ``generator`` when ``None``.
        generator: random source for the parameters (seed it for reproducible datasets).

    Returns:
        ``(frames, params)``: frames ``(N, 3, H, W)`` float32 in the order of ``evs``, and the parameters used.
    """
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected an image of shape (1, 3, H, W), got {tuple(image.shape)}")
    params = params or sample_unprocess_params(generator)
    raw = unprocess(image.float(), params)
    frames = [process(raw * 2.0 ** float(ev), params) for ev in evs]
    out = torch.cat(frames, 0) if frames else image.new_empty(0, *image.shape[1:])
    return out.float(), params
