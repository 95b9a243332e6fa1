"""The in-memory image record passed between reading, correction and writing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ImageData:
    """A decoded image, upright, with what must be carried to the output.

    Attributes:
        rgb: ``(H, W, 3)`` RGB pixels, uint8 or uint16 (or float32 in [0, 1] for float TIFFs).
        alpha: ``(H, W)`` alpha of the same dtype, or ``None``; never modified by corrections.
        icc_profile: embedded ICC profile bytes (RGB profiles only), or ``None``.
        exif: raw EXIF bytes with the orientation tag reset to 1 (pixels are already upright), or ``None``.
        format: source format name as Pillow reports it (``JPEG``, ``PNG``, ``TIFF``, ``WEBP``...).
        notes: conversions made on reading (grayscale → RGB, CMYK → RGB, rotation...), for the user.
        path: where it was read from, if anywhere.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str = "PNG"
    notes: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def bit_depth(self) -> int:
        """8, 16 or 32 (float)."""
        return {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(self.rgb.dtype, 32)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]
