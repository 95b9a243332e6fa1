"""Conversions at the I/O edge: numpy ``(H, W, 3)`` integer/float images <-> ``(1, 3, H, W)`` tensors."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def array_to_tensor(image: np.ndarray, device: str | torch.device = "cpu") -> Tensor:
    """``(H, W, C)`` uint8/uint16/float image to a ``(1, C, H, W)`` float32 tensor in [0, 1]."""
    scale = _SCALE.get(image.dtype)
    image = np.ascontiguousarray(image)
    if not image.flags.writeable:  # e.g. a Pillow buffer: torch.from_numpy would warn about read-only memory
        image = image.copy()
    t = torch.from_numpy(image).to(device)
    t = t.float() / scale if scale else t.float()
    if t.ndim == 2:
        t = t.unsqueeze(-1)
    return t.permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_array(images: Tensor, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """``(1, C, H, W)`` tensor in [0, 1] to an ``(H, W, C)`` array of ``dtype`` (rounded, not truncated)."""
    if images.ndim != 4 or images.shape[0] != 1:
        raise ValueError(f"expected shape (1, C, H, W), got {tuple(images.shape)}")
    x = images[0].detach().clamp(0, 1).permute(1, 2, 0).cpu()
    scale = _SCALE.get(np.dtype(dtype))
    if scale:
        return (x * scale).round_().numpy().astype(dtype)
    return x.numpy().astype(dtype)
