"""Base classes of every method: :class:`Method` (one image in, one out) and :class:`SequenceMethod`.

The public contract (see the README):

* ``correct(images)``: ``images`` is ``(B, 3, H, W)`` float RGB in [0, 1]; returns the same shape,
  in [0, 1]. Any batch size and resolution.
* ``correct_array(image)``: one ``(H, W, 3)`` numpy image (uint8, uint16 or float32 in [0, 1]) to the
  same dtype; this is what the CLI calls. Per-pixel methods work in tiles here so that huge images
  need memory proportional to one tile plus the uint8/uint16 input and output (see ``docs/memory.md``).
* learned methods add ``fit(...)``, ``save_weights(path)`` and ``load_weights(path)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from exposurekit.ops.checks import check_image_batch
from exposurekit.ops.convert import array_to_tensor, tensor_to_array

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
"""Folder of the weights shipped inside the package."""

TILE_PIXELS = 2048 * 2048
"""Per-pixel methods process images larger than this in tiles of this many pixels."""


class Method:
    """One exposure-correction method (see the module docstring for the contract).

    Subclasses set ``trainable``, ``pixelwise`` and, when learned, ``model`` and ``default_weights``.

    Attributes:
        name: registry name, set by :func:`~exposurekit.load_method`.
        trainable: ``fit`` is implemented.
        pixelwise: the output at a pixel depends only on that pixel's colour once per-image
            parameters are known; then ``analyze``/``apply`` split the work and big images are tiled.
        model: the network (``None`` for classical methods).
        channelwise: a per-pixel method whose map acts on each channel alone (a tone curve); integer
            images are then mapped through a 1-D lookup table of every code value (exact, and fast).
        default_weights: file name in ``exposurekit/weights`` loaded when no weights are given.
    """

    name: str = ""
    trainable: ClassVar[bool] = False
    pixelwise: ClassVar[bool] = False
    channelwise: ClassVar[bool] = False
    default_weights: ClassVar[str | None] = None

    def __init__(self) -> None:
        self.model: nn.Module | None = None
        self.device = torch.device("cpu")
        self.weights_path: Path | None = None

    # ------------------------------------------------------------------ inference
    def correct(self, images: Tensor) -> Tensor:
        """Correct the exposure of a batch.

        Args:
            images: :math:`(B, 3, H, W)` float RGB in [0, 1].

        Returns:
            :math:`(B, 3, H, W)` float RGB in [0, 1].
        """
        check_image_batch(images)
        with torch.no_grad():
            return self.apply(images, self.analyze(images)).clamp(0, 1)

    def analyze(self, images: Tensor) -> Any:
        """Per-image parameters of a per-pixel method, from (a reduced copy of) the images."""
        raise NotImplementedError(f"{type(self).__name__} must implement correct() or analyze()/apply()")

    def apply(self, images: Tensor, state: Any) -> Tensor:
        """Apply the per-pixel map found by :meth:`analyze` to full-resolution pixels."""
        raise NotImplementedError(f"{type(self).__name__} must implement correct() or analyze()/apply()")

    def correct_array(self, image: np.ndarray) -> np.ndarray:
        """Correct one ``(H, W, 3)`` image of dtype uint8, uint16 or float32; returns the same dtype.

        Per-pixel methods analyse a reduced copy once, then map the full image tile by tile, so the
        float working set never exceeds :data:`TILE_PIXELS` pixels.
        """
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
        h, w = image.shape[:2]
        if self.channelwise and image.dtype in (np.uint8, np.uint16):
            return self._correct_by_curve(image)
        if not self.pixelwise or h * w <= TILE_PIXELS:
            x = array_to_tensor(image, self.device)
            return tensor_to_array(self.correct(x), image.dtype)
        from exposurekit.ops.resize import resize_long_side

        with torch.no_grad():
            small = resize_long_side(array_to_tensor(_thumbnail(image), self.device), 1024)
            state = self.analyze(small)
            out = np.empty_like(image)
            for sl in _row_tiles(h, w):
                tile = array_to_tensor(image[sl], self.device)
                out[sl] = tensor_to_array(self.apply(tile, state).clamp(0, 1), image.dtype)
        return out

    def _correct_by_curve(self, image: np.ndarray) -> np.ndarray:
        """Map an integer image through the per-channel curve, evaluated once per code value."""
        from exposurekit.ops.resize import resize_long_side

        top = np.iinfo(image.dtype).max
        with torch.no_grad():
            small = resize_long_side(array_to_tensor(_thumbnail(image), self.device), 1024)
            state = self.analyze(small)
            ramp = torch.arange(top + 1, dtype=torch.float32, device=self.device) / top
            curve = self.apply(ramp.view(1, 1, 1, -1).expand(1, 3, 1, -1).contiguous(), state).clamp(0, 1)[0, 0, 0]
        lut = (curve * top).round().cpu().numpy().astype(image.dtype)
        return lut[image]

    # ------------------------------------------------------------------ device / weights
    def to(self, device: str | torch.device) -> Method:
        """Move the method's network(s) to ``device``; returns ``self``."""
        self.device = torch.device(device)
        for module in self.modules():
            module.to(self.device)
        return self

    def modules(self) -> Iterator[nn.Module]:
        """The networks this method owns (the ``model`` by default)."""
        if self.model is not None:
            yield self.model

    def eval(self) -> Method:
        for module in self.modules():
            module.eval()
        return self

    def load_weights(self, path: str | Path | None = None) -> Method:
        """Load weights saved by :meth:`save_weights`; ``None`` loads the shipped default.

        A learned method without shipped weights warns and stays at its initialisation.
        """
        from exposurekit.models.serialization import load_state

        if path is None:
            if self.default_weights is None or not (WEIGHTS_DIR / self.default_weights).exists():
                warnings.warn(f"{self.name or type(self).__name__}: no shipped weights; the network is untrained",
                              stacklevel=2)
                return self
            path = WEIGHTS_DIR / self.default_weights
        state, meta = load_state(path)
        self.load_state(state, meta)
        self.weights_path = Path(path)
        return self.eval()

    def load_state(self, state: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Put a loaded state dict into the network(s); override for methods with extra buffers."""
        if self.model is None:
            raise TypeError(f"{type(self).__name__} has no network to load weights into")
        self.model.load_state_dict(state)

    def state_and_meta(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """State dict and JSON-able metadata saved by :meth:`save_weights`; override to add more."""
        if self.model is None:
            raise TypeError(f"{type(self).__name__} has no network to save")
        return self.model.state_dict(), {"method": self.name, "config": getattr(self.model, "config", {})}

    def save_weights(self, path: str | Path) -> Path:
        """Save the network(s) and their config to a ``.safetensors`` file (atomically)."""
        from exposurekit.models.serialization import save_state

        state, meta = self.state_and_meta()
        return save_state(path, state, meta)

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Train the method; see each learned method's docstring for its data and config."""
        raise NotImplementedError(f"method {self.name!r} is not trainable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={self.device})"


class SequenceMethod(Method):
    """A method that fuses a multi-exposure stack of one scene into one image."""

    def fuse(self, stack: Tensor) -> Tensor:
        """Fuse frames of one scene.

        Args:
            stack: :math:`(N, 3, H, W)` float RGB in [0, 1], the N exposures of one scene, any order.

        Returns:
            :math:`(1, 3, H, W)` fused image in [0, 1].
        """
        raise NotImplementedError

    def correct(self, images: Tensor) -> Tensor:
        raise TypeError(
            f"method {self.name!r} fuses a multi-exposure sequence; use `exposurekit fuse DIR` "
            "or .fuse(stack) instead of correct()"
        )


def _thumbnail(image: np.ndarray, max_side: int = 2048) -> np.ndarray:
    """Strided view of ``image`` with the long side at most ``max_side`` (no copy, no float)."""
    step = max(1, int(np.ceil(max(image.shape[:2]) / max_side)))
    return np.ascontiguousarray(image[::step, ::step])


def _row_tiles(h: int, w: int) -> Iterator[tuple[slice, slice]]:
    rows = max(1, TILE_PIXELS // max(w, 1))
    for y in range(0, h, rows):
        yield slice(y, min(h, y + rows)), slice(0, w)
