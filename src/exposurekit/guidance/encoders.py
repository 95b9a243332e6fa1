"""Image encoders that guide the enhancement network, chosen by a spec string.

``"exposure"``: :class:`~exposurekit.guidance.exposure_embedding.ExposureEmbedding` (no weights);
``"uec"``: the UEC exposure encoder (:class:`exposurekit.models.uec.ExposureEncoder`) with the
weights trained in this project (``weights/uec.safetensors``) when present; ``"clip:PATH"``: the
image tower of a CLIP model loaded with ``from_pretrained`` (hub id or folder).

Every encoder maps :math:`(B, 3, H, W)` RGB in [0, 1] to :math:`(B, D)` differentiably, has ``dim``
and a ``cache_key`` that identifies it for the embedding cache.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from exposurekit.guidance.exposure_embedding import ExposureEmbedding

__all__ = ["ENCODERS", "UECEncoder", "build_encoder", "parse_encoder_spec"]

ENCODERS = ("exposure", "uec", "clip:PATH")
"""Accepted encoder specs."""

_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


class UECEncoder(nn.Module):
    """The UEC exposure encoder (``[std, mean, max]`` of its conv features), frozen.

    Args:
        weights: a UEC ``.safetensors`` file; ``None`` uses ``weights/uec.safetensors`` when it exists
            (otherwise the encoder stays random, with a warning).
    """

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        from exposurekit.models.uec import ExposureEncoder

        self.encoder = ExposureEncoder()
        path = Path(weights) if weights is not None else _WEIGHTS_DIR / "uec.safetensors"
        self.trained = False
        digest = "random"
        if path.is_file():
            from exposurekit.models.serialization import load_state

            state, _ = load_state(path)
            own = self.encoder.state_dict()
            picked = {}
            for k, v in state.items():
                for prefix in ("", "encoder.", "model.encoder.", "net.encoder."):
                    if k.startswith(prefix) and k[len(prefix):] in own:
                        picked[k[len(prefix):]] = v
            if set(picked) == set(own):
                self.encoder.load_state_dict(picked)
                self.trained = True
                digest = hashlib.sha1(b"".join(picked[k].numpy().tobytes() for k in sorted(picked))).hexdigest()[:12]
            else:
                warnings.warn(f"{path}: no UEC encoder weights found in it; the UEC encoder is random", stacklevel=2)
        elif weights is not None:
            raise FileNotFoundError(f"UEC weights not found: {path}")
        else:
            warnings.warn("weights/uec.safetensors is not there; the UEC encoder is random", stacklevel=2)
        self.encoder.eval().requires_grad_(False)
        self.dim = int(self.encoder.conv2.out_channels) * 3
        self.cache_key = f"uec:{digest}"

    def train(self, mode: bool = True) -> UECEncoder:
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        """:math:`(B, 3, H, W)` → :math:`(B, 96)`."""
        return self.encoder(images)


class _ClipImageEncoder(nn.Module):
    def __init__(self, guide: nn.Module) -> None:
        super().__init__()
        self.guide = guide
        self.dim = guide.dim
        src = Path(guide.source)
        stamp = ""
        if (src / "config.json").is_file():
            stamp = hashlib.sha1((src / "config.json").read_bytes()).hexdigest()[:8]
            files = sorted(src.glob("*.safetensors")) + sorted(src.glob("*.bin"))
            stamp += "".join(f":{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files)
        self.cache_key = f"clip:{guide.source}:{stamp}"

    def train(self, mode: bool = True) -> _ClipImageEncoder:
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        return self.guide.encode_image(images)


def parse_encoder_spec(spec: str) -> tuple[str, str | None]:
    """``"exposure"`` → ``("exposure", None)``; ``"clip:PATH"`` → ``("clip", "PATH")``.

    Raises:
        ValueError: an unknown spec (the message lists the accepted ones).
    """
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "clip":
        if not arg:
            raise ValueError("encoder 'clip' needs a model: --encoder clip:PATH_OR_HUB_ID")
        return "clip", arg
    if kind in ("exposure", "uec") and not arg:
        return kind, None
    if kind == "uec":
        return "uec", arg
    raise ValueError(f"unknown guidance encoder {spec!r}; expected one of {', '.join(ENCODERS)}")


def build_encoder(spec: str | nn.Module, device: str | torch.device = "cpu") -> nn.Module:
    """Build a frozen image encoder from a spec (see the module docstring) or pass a module through.

    Returns:
        A module mapping :math:`(B, 3, H, W)` → :math:`(B, D)`, with ``dim`` and ``cache_key``.
        CLIP encoders also carry ``guide`` (the :class:`~exposurekit.guidance.clip.ClipGuide`).
    """
    if isinstance(spec, nn.Module):
        return spec
    kind, arg = parse_encoder_spec(spec)
    if kind == "exposure":
        enc: nn.Module = ExposureEmbedding()
    elif kind == "uec":
        enc = UECEncoder(arg)
    else:
        from exposurekit.guidance.clip import ClipGuide

        enc = _ClipImageEncoder(ClipGuide.from_pretrained(arg, device))
    return enc.to(device).eval().requires_grad_(False)
