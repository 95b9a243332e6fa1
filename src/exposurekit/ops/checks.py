"""Input checks with messages that say what was expected and what arrived."""

from __future__ import annotations

from torch import Tensor


def check_image_batch(images: Tensor, channels: int = 3) -> None:
    """Check that ``images`` is a :math:`(B, C, H, W)` floating tensor with ``C == channels``.

    Raises:
        TypeError: not a floating tensor.
        ValueError: wrong number of dimensions or channels.
    """
    if not hasattr(images, "dtype") or not images.dtype.is_floating_point:
        raise TypeError(f"expected a float tensor in [0, 1], got {type(images).__name__} "
                        f"{getattr(images, 'dtype', '')}")
    if images.ndim != 4 or images.shape[1] != channels:
        raise ValueError(f"expected shape (B, {channels}, H, W), got {tuple(images.shape)}")
