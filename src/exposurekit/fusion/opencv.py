"""OpenCV's ``createMergeMertens`` on RGB stacks, used as the reference implementation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def mertens_opencv(stack: Tensor, contrast: float = 1.0, saturation: float = 1.0,
                   exposedness: float = 1.0) -> Tensor:
    """Fuse a stack with OpenCV's Mertens implementation (fed RGB, so its luma weights are right).

    Args:
        stack: :math:`(N, 3, H, W)` frames of one scene in [0, 1].
        contrast, saturation, exposedness: the exponents wc, ws, we. OpenCV's own defaults are
            1, 1, 0; the paper's (and ours) are 1, 1, 1.

    Returns:
        :math:`(1, 3, H, W)` fused image, clamped to [0, 1].
    """
    import cv2

    if stack.ndim != 4 or stack.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W), got {tuple(stack.shape)}")
    # MergeMertens always scales its input by 1/255 (even float input), so float frames go in at 0..255.
    frames = [np.ascontiguousarray(f.permute(1, 2, 0).cpu().numpy().astype(np.float32) * 255.0) for f in stack]
    merge = cv2.createMergeMertens(contrast, saturation, exposedness)
    fused = merge.process(frames)
    return torch.from_numpy(np.clip(fused, 0, 1)).permute(2, 0, 1).unsqueeze(0).to(stack.device)
